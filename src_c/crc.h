/* The reflected CRCs S3 takes as trailing checksums that the standard library lacks:
 * CRC-32C (Castagnoli, polynomial 0x82F63B78) and CRC-64/NVME (0x9A6C9329AC4BC9B5).
 * Slicing-by-8 tables, built by fs_crc_init, which must run (once is enough) before the first
 * call: the caller does it while no other thread can be in these functions. The running value
 * is the finished CRC of what came before (0 to start), as zlib.crc32 takes it, so calls
 * chain. */
#ifndef FASTSIG_CRC_H
#define FASTSIG_CRC_H

#include <stddef.h>
#include <stdint.h>

void fs_crc_init(void);
uint32_t fs_crc32c(uint32_t crc, const uint8_t *data, size_t len);
uint64_t fs_crc64nvme(uint64_t crc, const uint8_t *data, size_t len);

#endif
