"""Serving layer keys."""

from oryxpy.config.spec import Key

KEYS = [
    Key("oryx.serving.model-manager-class", "serving.als.manager.ALSServingModelManager", "dotted path of the serving model manager class"),
    Key("oryx.serving.application-resources", "recommend,similarity,estimate,explain,popular,ids,ready,ingest,pref,item-content,console,metrics,dashboard,docs", "comma-separated endpoint groups to serve (as Oryx's key of that name): recommend, similarity, estimate, explain, popular, ids, ready, ingest, pref, item-content, console, metrics, dashboard, docs, or the dotted path of a module with a FastAPI 'router' (a model's own endpoints)"),
    Key("oryx.serving.min-model-load-fraction", 0.8, "fraction of the model that must be loaded before queries are answered (503 before)", kind="float", minimum=0, maximum=1),
    Key("oryx.serving.api.host", "127.0.0.1", "address the REST API listens on (0.0.0.0 for every interface)"),
    Key("oryx.serving.api.port", 8080, "HTTP port", kind="int", minimum=0, maximum=65535),
    Key("oryx.serving.api.secure-port", 8443, "HTTPS port, used when a certificate is configured", kind="int", minimum=0, maximum=65535),
    Key("oryx.serving.api.context-path", "/", "URL prefix of every endpoint"),
    Key("oryx.serving.api.read-only", False, "serve reads only: /ingest and /pref answer 403", kind="bool"),
    Key("oryx.serving.api.user-name", None, "with password: require HTTP Digest authentication (realm Oryx; Basic too over HTTPS) on every endpoint", optional=True),
    Key("oryx.serving.api.password", None, "password for user-name", optional=True),
    Key("oryx.serving.api.cert-file", None, "PEM certificate (chain) file; when set the API serves HTTPS only, on secure-port (replaces Oryx's keystore-file and key-alias)", optional=True),
    Key("oryx.serving.api.key-file", None, "PEM private key file for cert-file, unencrypted (replaces Oryx's keystore-password)", optional=True),
    Key("oryx.serving.blas-threads", 1, "BLAS threads per computation in the serving process (0: the library default); 1 is fastest under concurrent requests", kind="int", minimum=0, maximum=1024),
    Key("oryx.serving.scan-threads", 0, "threads that share one exact scan of the item vectors, the batched scan of every /recommend and /similarity in flight (0: every core the process may run on)", kind="int", minimum=0, maximum=1024),
    Key("oryx.serving.approximate-index", "none", "faster approximate top-N index for the items: none (exact, or Oryx's LSH when oryx.als.sample-rate < 1), ivf (k-means inverted file; replaces LSH) or hnsw (a faiss HNSW graph, updated incrementally, exact re-ranking; replaces LSH)", kind="choice", choices=("none", "ivf", "hnsw")),
    Key("oryx.serving.ivf.probes", 0, "with approximate-index ivf: lists scanned per query, more for better recall (0: 30% of the lists; recall@10 about 0.9 on random Gaussian vectors)", kind="int", minimum=0),
    Key("oryx.serving.hnsw.ef-search", 128, "with approximate-index hnsw: candidates the graph search keeps, more for better recall and slower queries (recall@10 0.93 at 128 on 100k random Gaussian 50-feature vectors, the hard case)", kind="int", minimum=1),
    Key("oryx.serving.hnsw.ef-construction", 40, "with approximate-index hnsw: candidates kept while the graph is built; more gives a better graph (higher recall at the same ef-search) and a slower build (measured on 200k random Gaussian 50-feature vectors, M 32: 40 -> recall@10 0.87 at ef-search 128, built in 24 s; 100 -> 0.94, 123 s; 200 -> 0.96, 254 s)", kind="int", minimum=8, maximum=4096),
    Key("oryx.serving.hnsw.m", 32, "with approximate-index hnsw: neighbours per graph node (more: better recall, larger graph, slower build)", kind="int", minimum=4, maximum=256),
    Key("oryx.serving.ivf.lists", 0, "with approximate-index ivf: number of k-means lists (0: about sqrt(items))", kind="int", minimum=0),
    Key("oryx.serving.api.max-body-bytes", 67108864, "largest accepted request body in bytes, and the most that all decompression stages of one request may produce together; larger gives 413 (use oryxpy kafka-input for bigger inputs)", kind="int", minimum=1024),
    Key("oryx.serving.api.max-records", 1000000, "most records one /ingest request may hold; more gives 413 (use oryxpy kafka-input for bigger inputs)", kind="int", minimum=1),
    Key("oryx.serving.api.max-header-bytes", 65536, "largest request line plus headers in bytes; larger gives 431", kind="int", minimum=1024),
    Key("oryx.serving.api.header-timeout-ms", 10000, "time a connection may take to send a complete request line and headers; then 408 and closed", kind="int", minimum=100),
    Key("oryx.serving.api.body-timeout-ms", 60000, "time a request may take to send its whole body after its headers; then 408 and closed", kind="int", minimum=100),
    Key("oryx.serving.api.keep-alive-timeout-ms", 5000, "idle time after which a keep-alive connection is closed", kind="int", minimum=1000),
    Key("oryx.serving.api.max-connections", 1000, "most concurrent connections (and requests in progress); beyond it requests get 503", kind="int", minimum=1),
    # read by every layer (oryxpy.validation), kept here with the other input limits
    Key("oryx.input-topic.max-id-bytes", 1024, "longest user or item ID in bytes of UTF-8; a longer one is a 400 at the REST API and kafka-input, and a skipped, counted record in the batch and speed layers", kind="int", minimum=16, maximum=1048576),
]
