// Runs S3 calls with one JavaScript client and prints one JSON result per call.
//   node node_client.mjs '{"client": "sdk"|"smithy"|"aws4"|"aws4-presign", "endpoint": ...,
//                          "keyId": ..., "secret": ..., "bucket": ..., "calls": [...]}'
// A call is {"op": "put", "key": k, "data": base64} or {"op": "get", "key": k} or
// {"op": "list", "prefix": p}; its result {"status": n, "code": awsCode, "data": base64,
// "keys": [...]}. The CA of the test servers comes in NODE_EXTRA_CA_CERTS.
import { createRequire } from "node:module";
import http from "node:http";
import https from "node:https";

const require = createRequire(process.env.FASTSIG_NODE_MODULES + "/");
const spec = JSON.parse(process.argv[2]);
const endpoint = new URL(spec.endpoint);
const credentials = { accessKeyId: spec.keyId, secretAccessKey: spec.secret };

// S3's path encoding: every byte but the unreserved ones and '/'.
const s3Path = (key) => "/" + spec.bucket + "/" + key.split("/").map((part) =>
  encodeURIComponent(part).replace(/[!'()*]/g, (c) => "%" + c.charCodeAt(0).toString(16).toUpperCase())).join("/");

function send(method, path, headers, body) {
  const lib = endpoint.protocol === "https:" ? https : http;
  return new Promise((resolve, reject) => {
    const req = lib.request({ method, host: endpoint.hostname, port: endpoint.port, path, headers }, (res) => {
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => {
        const data = Buffer.concat(chunks);
        const code = /<Code>([^<]*)<\/Code>/.exec(data.toString("utf8"));
        resolve({ status: res.statusCode, code: code ? code[1] : null, data: data.toString("base64"),
                  keys: [...data.toString("utf8").matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]) });
      });
    });
    req.on("error", reject);
    req.end(body);
  });
}

async function sdkCall(call) {
  const s3 = require("@aws-sdk/client-s3");
  const client = new s3.S3Client({ endpoint: spec.endpoint, region: "us-east-1", forcePathStyle: true,
                                   credentials, maxAttempts: 1 });
  try {
    if (call.op === "put") {
      await client.send(new s3.PutObjectCommand({ Bucket: spec.bucket, Key: call.key,
                                                   Body: Buffer.from(call.data, "base64") }));
      return { status: 200 };
    }
    if (call.op === "get") {
      const out = await client.send(new s3.GetObjectCommand({ Bucket: spec.bucket, Key: call.key }));
      return { status: 200, data: Buffer.from(await out.Body.transformToByteArray()).toString("base64") };
    }
    const out = await client.send(new s3.ListObjectsV2Command({ Bucket: spec.bucket, Prefix: call.prefix }));
    return { status: 200, keys: (out.Contents || []).map((o) => o.Key) };
  } catch (error) {
    return { status: error.$metadata ? error.$metadata.httpStatusCode : 0, code: error.name || String(error) };
  }
}

async function smithyCall(call) {
  const { SignatureV4 } = require("@smithy/signature-v4");
  const { Hash } = require("@smithy/hash-node");
  const { createHash } = await import("node:crypto");
  // S3's rules: the path is encoded once, by the caller, and not normalized.
  const signer = new SignatureV4({ credentials, region: "us-east-1", service: "s3",
                                   sha256: Hash.bind(null, "sha256"), uriEscapePath: false });
  const body = call.op === "put" ? Buffer.from(call.data, "base64") : Buffer.alloc(0);
  const path = call.op === "list" ? "/" + spec.bucket : s3Path(call.key);
  const query = call.op === "list" ? { "list-type": "2", prefix: call.prefix } : {};
  const request = { method: call.op === "put" ? "PUT" : "GET", protocol: endpoint.protocol,
                    hostname: endpoint.hostname, port: Number(endpoint.port), path, query, body,
                    headers: { host: endpoint.host,
                               "x-amz-content-sha256": createHash("sha256").update(body).digest("hex") } };
  const signed = await signer.sign(request);
  const qs = new URLSearchParams(query).toString().replace(/\+/g, "%20");
  return send(request.method, path + (qs ? "?" + qs : ""), signed.headers, body);
}

async function aws4Call(call) {
  const aws4 = require("aws4");
  const body = call.op === "put" ? Buffer.from(call.data, "base64") : undefined;
  const path = call.op === "list"
    ? `/${spec.bucket}?list-type=2&prefix=${encodeURIComponent(call.prefix)}` : s3Path(call.key);
  const opts = { host: endpoint.host, path, method: call.op === "put" ? "PUT" : "GET", service: "s3",
                 region: "us-east-1", body, signQuery: spec.client === "aws4-presign" };
  aws4.sign(opts, credentials);
  return send(opts.method, opts.path, opts.headers, body);
}

const run = { sdk: sdkCall, smithy: smithyCall, aws4: aws4Call, "aws4-presign": aws4Call }[spec.client];
const results = [];
for (const call of spec.calls) results.push(await run(call));
process.stdout.write(JSON.stringify(results));
