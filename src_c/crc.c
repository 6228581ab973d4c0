#include "crc.h"

static uint32_t crc32c_table[8][256];
static uint64_t crc64_table[8][256];

void fs_crc_init(void)
{
    for (int byte = 0; byte < 256; byte++) {
        uint32_t c32 = (uint32_t)byte;
        uint64_t c64 = (uint64_t)byte;
        for (int bit = 0; bit < 8; bit++) {
            c32 = (c32 & 1) ? (c32 >> 1) ^ 0x82F63B78u : c32 >> 1;
            c64 = (c64 & 1) ? (c64 >> 1) ^ 0x9A6C9329AC4BC9B5ull : c64 >> 1;
        }
        crc32c_table[0][byte] = c32;
        crc64_table[0][byte] = c64;
    }
    for (int byte = 0; byte < 256; byte++) {
        for (int k = 1; k < 8; k++) {
            crc32c_table[k][byte] = (crc32c_table[k - 1][byte] >> 8)
                ^ crc32c_table[0][crc32c_table[k - 1][byte] & 0xFF];
            crc64_table[k][byte] = (crc64_table[k - 1][byte] >> 8)
                ^ crc64_table[0][crc64_table[k - 1][byte] & 0xFF];
        }
    }
}

static uint64_t load_le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    return v;
}

uint32_t fs_crc32c(uint32_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    while (len >= 8) {
        uint64_t word = load_le64(data) ^ crc;
        crc = crc32c_table[7][word & 0xFF] ^ crc32c_table[6][(word >> 8) & 0xFF]
            ^ crc32c_table[5][(word >> 16) & 0xFF] ^ crc32c_table[4][(word >> 24) & 0xFF]
            ^ crc32c_table[3][(word >> 32) & 0xFF] ^ crc32c_table[2][(word >> 40) & 0xFF]
            ^ crc32c_table[1][(word >> 48) & 0xFF] ^ crc32c_table[0][word >> 56];
        data += 8;
        len -= 8;
    }
    while (len--)
        crc = crc32c_table[0][(crc ^ *data++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}

uint64_t fs_crc64nvme(uint64_t crc, const uint8_t *data, size_t len)
{
    crc = ~crc;
    while (len >= 8) {
        uint64_t word = load_le64(data) ^ crc;
        crc = crc64_table[7][word & 0xFF] ^ crc64_table[6][(word >> 8) & 0xFF]
            ^ crc64_table[5][(word >> 16) & 0xFF] ^ crc64_table[4][(word >> 24) & 0xFF]
            ^ crc64_table[3][(word >> 32) & 0xFF] ^ crc64_table[2][(word >> 40) & 0xFF]
            ^ crc64_table[1][(word >> 48) & 0xFF] ^ crc64_table[0][word >> 56];
        data += 8;
        len -= 8;
    }
    while (len--)
        crc = crc64_table[0][(crc ^ *data++) & 0xFF] ^ (crc >> 8);
    return ~crc;
}
