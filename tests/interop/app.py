"""A small S3-, SQS- and DynamoDB-like application for the interop suite, behind fastsig's
middlewares: enough of each API for the real clients to run their usual calls.

S3 (path-style): ListBuckets, CreateBucket, HeadBucket, GetBucketLocation, ListObjects (v1 and
v2, ``encoding-type=url``), Put/Get (with Range)/Head/DeleteObject and multipart uploads.
SQS and DynamoDB speak AWS JSON (``X-Amz-Target``): CreateQueue, GetQueueUrl, SendMessage,
ReceiveMessage, DeleteMessage; CreateTable, PutItem, GetItem.

Objects live on disk under ``$FASTSIG_INTEROP_STORE`` so that the tests can read the exact
bytes an upload delivered. A body is written to a temporary file as it streams in and becomes
an object only once the server has handed over all of it: a request whose body fails on the
way (a bad chunk, a wrong trailing checksum) never leaves an object behind. Every request the
application sees is appended to ``requests.jsonl`` in the store, so that a test can tell a
refused request (never seen) from an accepted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import threading
import time
import uuid
from email.utils import formatdate
from typing import Any, Callable, Dict, Iterable, List, Optional, Tuple
from urllib.parse import parse_qs, quote
from xml.sax.saxutils import escape

from fastsig import Credentials, Verifier
from fastsig.middleware import ASGIMiddleware, WSGIMiddleware

Response = Tuple[int, List[Tuple[str, str]], bytes]
STORE = os.environ.get("FASTSIG_INTEROP_STORE", tempfile.gettempdir())
_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"
_LOCK = threading.Lock()
_QUEUES: Dict[str, List[Dict[str, str]]] = {}
_TABLES: Dict[str, List[Dict[str, Any]]] = {}


def _xml(status: int, body: str) -> Response:
    data = ('<?xml version="1.0" encoding="UTF-8"?>\n' + body).encode()
    return status, [("Content-Type", "application/xml")], data


def _s3_error(status: int, code: str, message: str) -> Response:
    return _xml(status, f"<Error><Code>{code}</Code><Message>{escape(message)}</Message></Error>")


def _json(body: Dict[str, Any], status: int = 200) -> Response:
    return status, [("Content-Type", "application/x-amz-json-1.0")], json.dumps(body).encode()


def _object_path(bucket: str, key: str) -> str:
    return os.path.join(STORE, "objects", bucket, quote(key, safe="") or "%00")


def _etag(md5: "hashlib._Hash") -> str:
    return f'"{md5.hexdigest()}"'


def _http_date(seconds: float) -> str:
    return formatdate(seconds, usegmt=True)


class Request:
    """One request as the application sees it, once its whole body is in ``body`` (a file)."""

    def __init__(self, method: str, path: str, query: str, headers: Dict[str, str],
                 body: Optional[str], scheme: str, verified: Any) -> None:
        self.method = method
        self.path = path  # decoded
        self.query = parse_qs(query, keep_blank_values=True)
        self.headers = headers  # lowercase names
        self.body = body  # the path of a file holding the body, or None
        self.scheme = scheme
        self.verified = verified

    def arg(self, name: str) -> Optional[str]:
        values = self.query.get(name)
        return values[0] if values else None

    def read(self) -> bytes:
        if self.body is None:
            return b""
        with open(self.body, "rb") as file:
            return file.read()


def handle(request: Request) -> Response:
    """The answer to one verified request."""
    target = request.headers.get("x-amz-target", "")
    if target:
        return _json_service(target, request)
    bucket, _, key = request.path.lstrip("/").partition("/")
    try:
        if not bucket:
            return _list_buckets()
        if not key:
            return _bucket(request, bucket)
        return _object(request, bucket, key)
    except FileNotFoundError:
        return _s3_error(404, "NoSuchKey", "The specified key does not exist.")


def _list_buckets() -> Response:
    root = os.path.join(STORE, "objects")
    names = sorted(os.listdir(root)) if os.path.isdir(root) else []
    buckets = "".join(f"<Bucket><Name>{escape(n)}</Name><CreationDate>2026-01-01T00:00:00.000Z"
                      f"</CreationDate></Bucket>" for n in names)
    return _xml(200, f'<ListAllMyBucketsResult xmlns="{_XMLNS}"><Owner><ID>interop</ID></Owner>'
                     f"<Buckets>{buckets}</Buckets></ListAllMyBucketsResult>")


def _bucket(request: Request, bucket: str) -> Response:
    folder = os.path.join(STORE, "objects", bucket)
    if request.method == "PUT":
        os.makedirs(folder, exist_ok=True)
        return 200, [("Location", "/" + bucket)], b""
    if not os.path.isdir(folder):
        return _s3_error(404, "NoSuchBucket", "The specified bucket does not exist")
    if request.method == "HEAD":
        return 200, [("x-amz-bucket-region", "us-east-1")], b""
    if request.method == "DELETE":
        return 204, [], b""
    if "location" in request.query:
        return _xml(200, f'<LocationConstraint xmlns="{_XMLNS}"/>')
    if request.method == "POST" and "delete" in request.query:
        keys = re.findall(r"<Key>(.*?)</Key>", request.read().decode())
        for key in keys:
            try:
                os.remove(_object_path(bucket, _unescape(key)))
            except FileNotFoundError:
                pass
        deleted = "".join(f"<Deleted><Key>{k}</Key></Deleted>" for k in keys)
        return _xml(200, f'<DeleteResult xmlns="{_XMLNS}">{deleted}</DeleteResult>')
    if request.method == "GET":
        return _list_objects(request, bucket, folder)
    return _s3_error(405, "MethodNotAllowed", "not supported by the interop app")


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


def _list_objects(request: Request, bucket: str, folder: str) -> Response:
    from urllib.parse import unquote

    prefix = request.arg("prefix") or ""
    delimiter = request.arg("delimiter") or ""
    url = request.arg("encoding-type") == "url"
    v2 = request.arg("list-type") == "2"
    keys = sorted(unquote(name) for name in os.listdir(folder))
    contents, prefixes = [], []
    for key in keys:
        if not key.startswith(prefix):
            continue
        if delimiter and delimiter in key[len(prefix):]:
            common = key[:len(prefix) + key[len(prefix):].index(delimiter) + len(delimiter)]
            if common not in prefixes:
                prefixes.append(common)
            continue
        contents.append(key)

    def name(key: str) -> str:
        return escape(quote(key, safe="/") if url else key)

    items = []
    for key in contents:
        stat = os.stat(_object_path(bucket, key))
        with open(_object_path(bucket, key), "rb") as file:
            etag = hashlib.md5(file.read()).hexdigest()
        modified = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(stat.st_mtime))
        items.append(f"<Contents><Key>{name(key)}</Key><LastModified>{modified}</LastModified>"
                     f"<ETag>&quot;{etag}&quot;</ETag><Size>{stat.st_size}</Size>"
                     f"<StorageClass>STANDARD</StorageClass></Contents>")
    common = "".join(f"<CommonPrefixes><Prefix>{name(p)}</Prefix></CommonPrefixes>"
                     for p in prefixes)
    extra = f"<KeyCount>{len(items) + len(prefixes)}</KeyCount>" if v2 else "<Marker></Marker>"
    encoding = "<EncodingType>url</EncodingType>" if url else ""
    return _xml(200, f'<ListBucketResult xmlns="{_XMLNS}"><Name>{bucket}</Name>'
                     f"<Prefix>{name(prefix)}</Prefix>{extra}<MaxKeys>1000</MaxKeys>"
                     f"<Delimiter>{escape(delimiter)}</Delimiter>{encoding}"
                     f"<IsTruncated>false</IsTruncated>{''.join(items)}{common}"
                     f"</ListBucketResult>")


def _object(request: Request, bucket: str, key: str) -> Response:
    path = _object_path(bucket, key)
    upload_id = request.arg("uploadId")
    if request.method == "POST" and "uploads" in request.query:
        upload_id = uuid.uuid4().hex
        os.makedirs(os.path.join(STORE, "uploads", upload_id))
        return _xml(200, f'<InitiateMultipartUploadResult xmlns="{_XMLNS}"><Bucket>{bucket}'
                         f"</Bucket><Key>{escape(key)}</Key><UploadId>{upload_id}</UploadId>"
                         f"</InitiateMultipartUploadResult>")
    if upload_id is not None:
        return _multipart(request, bucket, key, path, upload_id)
    if request.method == "PUT":
        os.makedirs(os.path.dirname(path), exist_ok=True)
        data = request.read()
        _store(request, path)
        return 200, [("ETag", _etag(hashlib.md5(data)))], b""
    if request.method == "DELETE":
        try:
            os.remove(path)
        except FileNotFoundError:
            pass
        return 204, [], b""
    if request.method in ("GET", "HEAD"):
        with open(path, "rb") as file:
            data = file.read()
        headers = [("ETag", _etag(hashlib.md5(data))), ("Accept-Ranges", "bytes"),
                   ("Last-Modified", _http_date(os.stat(path).st_mtime)),
                   ("Content-Type", "binary/octet-stream")]
        status = 200
        match = re.fullmatch(r"bytes=(\d*)-(\d*)", request.headers.get("range", ""))
        if match and data:
            first, last = match.groups()
            start = int(first) if first else max(0, len(data) - int(last))
            end = min(int(last), len(data) - 1) if first and last else len(data) - 1
            headers.append(("Content-Range", f"bytes {start}-{end}/{len(data)}"))
            data, status = data[start:end + 1], 206
        if request.method == "HEAD":
            headers.append(("Content-Length", str(len(data))))
            return status, headers, b""
        return status, headers, data
    return _s3_error(405, "MethodNotAllowed", "not supported by the interop app")


def _store(request: Request, path: str) -> None:
    """Makes the request's body file the object (the body is complete by now)."""
    if request.body is None:
        open(path, "wb").close()
    else:
        os.replace(request.body, path)
        request.body = None


def _multipart(request: Request, bucket: str, key: str, path: str, upload_id: str) -> Response:
    folder = os.path.join(STORE, "uploads", os.path.basename(upload_id))
    if not os.path.isdir(folder):
        return _s3_error(404, "NoSuchUpload", "The specified upload does not exist.")
    if request.method == "PUT":
        number = int(request.arg("partNumber") or "0")
        part = os.path.join(folder, f"{number:05d}")
        data = request.read()
        _store(request, part)
        return 200, [("ETag", _etag(hashlib.md5(data)))], b""
    if request.method == "DELETE":
        for name in os.listdir(folder):
            os.remove(os.path.join(folder, name))
        os.rmdir(folder)
        return 204, [], b""
    if request.method == "POST":
        numbers = [int(n) for n in re.findall(r"<PartNumber>(\d+)</PartNumber>", request.read().decode())]
        digests = b""
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".assembling", "wb") as out:
            for number in numbers:
                with open(os.path.join(folder, f"{number:05d}"), "rb") as piece:
                    data = piece.read()
                digests += hashlib.md5(data).digest()
                out.write(data)
        os.replace(path + ".assembling", path)
        etag = f'"{hashlib.md5(digests).hexdigest()}-{len(numbers)}"'
        return _xml(200, f'<CompleteMultipartUploadResult xmlns="{_XMLNS}"><Location>/{bucket}/'
                         f"{escape(quote(key))}</Location><Bucket>{bucket}</Bucket>"
                         f"<Key>{escape(key)}</Key><ETag>{escape(etag)}</ETag>"
                         f"</CompleteMultipartUploadResult>")
    return _s3_error(405, "MethodNotAllowed", "not supported by the interop app")


def _json_service(target: str, request: Request) -> Response:
    service, _, operation = target.partition(".")
    body = json.loads(request.read() or b"{}")
    with _LOCK:
        if service == "AmazonSQS":
            return _sqs(operation, body, request)
        if service.startswith("DynamoDB_"):
            return _dynamodb(operation, body)
    return _json({"__type": "UnknownOperationException", "message": target}, 400)


def _sqs(operation: str, body: Dict[str, Any], request: Request) -> Response:
    if operation in ("CreateQueue", "GetQueueUrl"):
        name = body["QueueName"]
        _QUEUES.setdefault(name, [])
        host = request.headers.get("host", "127.0.0.1")
        return _json({"QueueUrl": f"{request.scheme}://{host}/000000000000/{name}"})
    queue = _QUEUES.get(str(body.get("QueueUrl", "")).rsplit("/", 1)[-1])
    if queue is None:
        return _json({"__type": "com.amazonaws.sqs#QueueDoesNotExist",
                      "message": "The specified queue does not exist."}, 400)
    if operation == "SendMessage":
        text = body["MessageBody"]
        message = {"MessageId": str(uuid.uuid4()), "ReceiptHandle": uuid.uuid4().hex,
                   "MD5OfBody": hashlib.md5(text.encode()).hexdigest(), "Body": text}
        queue.append(message)
        return _json({"MessageId": message["MessageId"], "MD5OfMessageBody": message["MD5OfBody"]})
    if operation == "ReceiveMessage":
        count = int(body.get("MaxNumberOfMessages", 1))
        return _json({"Messages": queue[:count]})
    if operation == "DeleteMessage":
        queue[:] = [m for m in queue if m["ReceiptHandle"] != body["ReceiptHandle"]]
        return _json({})
    return _json({"__type": "UnknownOperationException", "message": operation}, 400)


def _dynamodb(operation: str, body: Dict[str, Any]) -> Response:
    name = body.get("TableName", "")
    if operation == "CreateTable":
        _TABLES.setdefault(name, [])
        return _json({"TableDescription": {"TableName": name, "TableStatus": "ACTIVE",
                                           "KeySchema": body.get("KeySchema", [])}})
    table = _TABLES.get(name)
    if table is None:
        return _json({"__type": "com.amazonaws.dynamodb.v20120810#ResourceNotFoundException",
                      "message": "Requested resource not found"}, 400)
    if operation == "PutItem":
        table.append(body["Item"])
        return _json({})
    if operation == "GetItem":
        key = body["Key"]
        found = [item for item in table if all(item.get(k) == v for k, v in key.items())]
        return _json({"Item": found[-1]} if found else {})
    return _json({"__type": "UnknownOperationException", "message": operation}, 400)


def _log(request: Request, status: int, size: int) -> None:
    verified = request.verified
    line = json.dumps({"method": request.method, "path": request.path, "status": status,
                       "bytes": size, "key_id": getattr(verified, "access_key_id", None),
                       "payload": request.headers.get("x-amz-content-sha256")})
    with _LOCK, open(os.path.join(STORE, "requests.jsonl"), "a") as log:
        log.write(line + "\n")


def _spool_file() -> Any:
    folder = os.path.join(STORE, "incoming")
    os.makedirs(folder, exist_ok=True)
    return tempfile.NamedTemporaryFile(dir=folder, delete=False)


def _respond(request: Request, size: int) -> Response:
    try:
        status, headers, body = handle(request)
    finally:
        if request.body is not None:
            os.remove(request.body)
    _log(request, status, size)
    return status, headers, body


# -- WSGI ------------------------------------------------------------------------------------

def _wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    headers = {k[5:].replace("_", "-").lower(): v for k, v in environ.items() if k.startswith("HTTP_")}
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    length = environ.get("CONTENT_LENGTH")
    body, size = None, 0
    if environ["REQUEST_METHOD"] in ("PUT", "POST"):
        stream = environ["wsgi.input"]
        remaining = int(length) if length else None
        with _spool_file() as file:
            body = file.name
            try:
                while remaining is None or remaining > 0:
                    data = stream.read(65536 if remaining is None else min(65536, remaining))
                    if not data:
                        break
                    file.write(data)
                    size += len(data)
                    if remaining is not None:
                        remaining -= len(data)
            except BaseException:
                file.close()
                os.remove(body)
                raise
        if remaining:  # the body ended early: never an object
            os.remove(body)
            start_response("400 Bad Request", [("Content-Type", "application/xml")])
            return [_s3_error(400, "IncompleteBody", "body shorter than Content-Length")[2]]
    path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8")
    request = Request(environ["REQUEST_METHOD"], path, environ.get("QUERY_STRING", ""), headers,
                      body, environ.get("wsgi.url_scheme", "http"), environ.get("fastsig.verified"))
    status, response_headers, data = _respond(request, size)
    if not any(n.lower() == "content-length" for n, _ in response_headers):
        response_headers.append(("Content-Length", str(len(data))))
    start_response(f"{status} {'OK' if status < 300 else 'Error'}", response_headers)
    return [data] if request.method != "HEAD" else []


# -- ASGI ------------------------------------------------------------------------------------

async def _asgi_app(scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            else:
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] == "websocket":
        await receive()  # websocket.connect
        await send({"type": "websocket.accept"})
        verified = scope.get("fastsig.verified")
        await send({"type": "websocket.send", "text": getattr(verified, "access_key_id", "none")})
        await send({"type": "websocket.close"})
        return
    headers = {n.decode("latin-1").lower(): v.decode("latin-1") for n, v in scope["headers"]}
    body, size = None, 0
    if scope["method"] in ("PUT", "POST"):
        with _spool_file() as file:
            body = file.name
            more = True
            while more:
                message = await receive()
                if message["type"] != "http.request":  # the client went away
                    file.close()
                    os.remove(body)
                    return
                file.write(message.get("body", b""))
                size += len(message.get("body", b""))
                more = message.get("more_body", False)
    request = Request(scope["method"], scope["path"], scope.get("query_string", b"").decode("latin-1"),
                      headers, body, scope.get("scheme", "http"), scope.get("fastsig.verified"))
    status, response_headers, data = _respond(request, size)
    if not any(n.lower() == "content-length" for n, _ in response_headers):
        response_headers.append(("Content-Length", str(len(data))))
    await send({"type": "http.response.start", "status": status,
                "headers": [(n.encode(), v.encode()) for n, v in response_headers]})
    await send({"type": "http.response.body", "body": data if scope["method"] != "HEAD" else b""})


# -- the middlewares in front ------------------------------------------------------------------

def _verifier() -> Verifier:
    key_id = os.environ["FASTSIG_INTEROP_KEY_ID"]
    secret = os.environ["FASTSIG_INTEROP_SECRET"]
    keys = {key_id: Credentials(key_id, secret)}
    return Verifier(keys.get)


def _wsgi() -> Callable[..., Any]:
    verifier = _verifier()
    # One app, two error formats: S3's XML, AWS JSON for the JSON protocols' clients.
    xml = WSGIMiddleware(_wsgi_app, verifier)
    js = WSGIMiddleware(_wsgi_app, verifier, error_format="json")

    def app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return (js if "HTTP_X_AMZ_TARGET" in environ else xml)(environ, start_response)

    return app


def _asgi() -> Callable[..., Any]:
    verifier = _verifier()
    xml = ASGIMiddleware(_asgi_app, verifier)
    js = ASGIMiddleware(_asgi_app, verifier, error_format="json")

    async def app(scope: Dict[str, Any], receive: Callable[..., Any], send: Callable[..., Any]) -> None:
        if scope["type"] == "lifespan":
            await _asgi_app(scope, receive, send)
            return
        json_protocol = any(n == b"x-amz-target" for n, _ in scope.get("headers", ()))
        await (js if json_protocol else xml)(scope, receive, send)

    return app


def wsgi_app(environ: Dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """The WSGI entry for gunicorn and waitress (built on first use, after the fork)."""
    global _WSGI
    if _WSGI is None:
        _WSGI = _wsgi()
    return _WSGI(environ, start_response)


_WSGI: Optional[Callable[..., Any]] = None
asgi_app = _asgi() if "FASTSIG_INTEROP_KEY_ID" in os.environ else None
if "FASTSIG_INTEROP_STORE" in os.environ:
    # Which backend this server process verifies with, for the tests to check.
    import fastsig

    with open(os.path.join(STORE, "backend"), "w") as _file:
        _file.write(fastsig.backend)
