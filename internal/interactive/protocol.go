package interactive

// The driver protocol, defined once on the Go side: what the driver program (driver/
// sparkgate_driver.py) is started with and how it talks to the gateway. TestDriverSpeaksTheProtocol
// checks the Python driver against these.

// The driver's environment, set by the gateway when it starts the driver.
const (
	EnvURL       = "SPARKGATE_URL"        // where the driver reaches the gateway (--driver-url)
	EnvSessionID = "SPARKGATE_SESSION_ID" // the session's id
	// EnvSecretFile names a 0600 file holding the secret the driver authenticates with; the
	// driver reads it and removes it at once, so that the secret is in no environment (which
	// every process of the OS user reads in /proc) and no file. A driver in the cluster, which
	// cannot read the gateway's disk, gets the secret itself in EnvSecret, through the
	// cluster manager (see yarn.Backend.Start).
	EnvSecretFile     = "SPARKGATE_SECRET_FILE"
	EnvSecret         = "SPARKGATE_SECRET"
	EnvKind           = "SPARKGATE_SESSION_KIND"
	EnvWorkDir        = "SPARKGATE_WORK_DIR" // the session's application directory
	EnvGatewayTimeout = "SPARKGATE_GATEWAY_TIMEOUT_SECONDS"
	// EnvMaxOutputBytes bounds a statement's output, as JSON: the driver cuts a larger one.
	EnvMaxOutputBytes = "SPARKGATE_MAX_OUTPUT_BYTES"
	// EnvCAFile names the CAs the driver trusts for an https:// gateway (the system's
	// when unset).
	EnvCAFile = "SPARKGATE_CA_FILE"
)

// SecretHeader carries the session's secret on every request of its driver.
const SecretHeader = "X-Sparkgate-Secret"

// The driver's routes, as net/http patterns ({ref} is the session id).
const (
	RouteReady  = "POST /driver/sessions/{ref}/ready"            // body {"appId"}: the SparkSession is up
	RouteNext   = "GET /driver/sessions/{ref}/next"              // long poll: a Message, or 204
	RouteResult = "POST /driver/sessions/{ref}/statements/{sid}" // body {"output"} or {"progress"}
	RouteAnswer = "POST /driver/sessions/{ref}/calls/{cid}"      // body CallAnswer
	// RouteFile serves a driver in the cluster the file of a Call with Fetch (?path=).
	RouteFile = "GET /driver/sessions/{ref}/files"
)

// The query parameters of a poll (Poll).
const (
	QueryRunning    = "running"    // the statement the driver runs
	QueryCancelSeen = "cancelSeen" // "1": it acts on that statement's cancel already
)

// Message types.
const (
	MessageStatement = "statement" // run it
	MessageCancel    = "cancel"    // cancel the running statement ID
	MessageCall      = "call"      // answer Call at once
)

// Call ops.
const (
	OpComplete  = "complete"
	OpAddJar    = "addJar"
	OpAddPyFile = "addPyFile"
	OpAddFile   = "addFile"
)
