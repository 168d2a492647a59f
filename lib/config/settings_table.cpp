// The one list of settings. Add a row here for a new setting; `orch config`, the environment,
// the config file and the man page's ENVIRONMENT section all follow from it.
#include "config/settings.hpp"

namespace orch {

const std::vector<SettingSpec>& setting_specs() {
  using K = SettingKind;
  // One row per line (scripts/gen-docs.py reads them so): not wrapped by clang-format.
  // clang-format off
  static const std::vector<SettingSpec> specs = {
      // --- server and bus ---
      {"PORT", K::integer, "9000", "HTTP port of orch serve (0: any free port)", 0, 65535},
      {"BIND", K::string, "127.0.0.1", "listen address"},
      {"REDIS_URL", K::url_with_secret, "", "redis://[:password@]host:port[/db]; unset = in-process bus"},
      {"ORCH_CONFIG", K::string, "", "config file (default ./orch.yaml if present)"},
      {"ORCH_STATE_DIR", K::string, "", "where orch keeps its outbox and state (default $XDG_STATE_HOME/orch)"},
      {"ORCH_OUTBOX_MAX", K::integer, "100000", "events the on-disk outbox holds while Redis is down"},
      {"ORCH_BODY_LIMIT", K::integer, "1048576", "largest request body in bytes (413 above)"},
      {"ORCH_RATE_LIMIT", K::integer, "600", "control requests (/diagnose /heal /rollback /sync-test /mcp) per client address per minute; 429 above; 0 = no limit"},
      {"ORCH_AUTH_FAILURE_LIMIT", K::integer, "30", "failed authentications (401) per client address per minute before it gets 429; 0 = no limit"},
      {"ORCH_HTTP_THREADS", K::integer, "16", "most HTTP worker threads for requests outside the webhook, probe and control paths (started on demand, ended when idle)"},
      {"ORCH_CONTROL_CONCURRENCY", K::integer, "4", "control requests (/diagnose /heal /rollback /sync-test /mcp) served at once; 16 more may wait, beyond that 503 busy"},
      {"ORCH_HTTP_MAX_CONNECTIONS", K::integer, "10000", "open HTTP connections in all; new ones beyond are refused (503)"},
      {"ORCH_HTTP_MAX_CONNECTIONS_PER_ADDRESS", K::integer, "256", "open HTTP connections per client address; new ones beyond are refused (503); 0 = no cap (behind a reverse proxy)"},
      {"ORCH_HTTP_HEAD_TIMEOUT", K::duration, "10s", "a request head must arrive within this (408 and close): slow clients cannot hold connections"},
      {"ORCH_INSTANCE_ID", K::string, "", "this instance's id on the bus (default hostname-pid)"},
      {"ORCH_LOG_FORMAT", K::string, "text", "text or json"},
      {"ORCH_LOG_LEVEL", K::string, "info", "trace, debug, info, warn, error, critical"},
      {"ORCH_LOG_FILE", K::string, "", "also log to this rotating file"},
      // --- credentials ---
      {"TRUSTED_WEBHOOK_SECRET", K::credential, "", "CMS webhook secret, at least 16 characters, or whsec_<base64 of 24-64 bytes> (Standard Webhooks); unset = webhook answers 503"},
      {"TRUSTED_WEBHOOK_SECRET_PREVIOUS", K::credential, "", "previous webhook secret, accepted during rotation"},
      {"WEBHOOK_SECRET_HEADER", K::string, "x-builder-secret", "header that carries TRUSTED_WEBHOOK_SECRET as it is (Builder sends the custom headers set on its webhook; Authorization: Bearer <secret> is always accepted too)"},
      {"ORCH_API_TOKEN", K::credential, "", "bearer token for control endpoints, at least 16 characters; unset = loopback only"},
      {"BUILDER_PRIVATE_KEY", K::secret, "", "Builder.io private key for sync-test's Write API path"},
      {"RAG_API_KEY", K::secret, "", "sent to the RAG service as Authorization: Bearer (re-index, delete, sync-test's query)"},
      // --- services ---
      {"WEB_API_URL", K::url, "", "base URL of the web frontend"},
      {"RAG_API_URL", K::url, "", "base URL of the RAG service"},
      {"DOCLING_API_URL", K::url, "", "base URL of docling-serve"},
      {"HEALTH_INTERVAL", K::duration, "30s", "period of the service health loop"},
      {"NOTIFY_WEBHOOK_URL", K::secret_url, "", "a generic webhook provider for alerts (Alertmanager-style JSON; more providers under notify: in the config file, docs/alerting.md)"},
      // --- alerting (docs/alerting.md) ---
      {"ORCH_ALERT_FAILURES", K::integer, "2", "consecutive bad checks before a service or container incident fires (services.<name>.alert.failures overrides)", 1, 1000},
      {"ORCH_ALERT_RECOVERIES", K::integer, "2", "consecutive good checks before an incident resolves (services.<name>.alert.recoveries overrides)", 1, 1000},
      {"ORCH_ALERT_TIMEOUT", K::duration, "10s", "timeout of one notification request (HTTP or SMTP)"},
      {"ORCH_ALERT_ATTEMPTS", K::integer, "4", "attempts per notification on 5xx, 429 or a transport error before it is given up (logged, counted)", 1, 20},
      {"ORCH_ALERT_RETRY_DELAY", K::duration, "2s", "delay before the first retry of a notification; doubles each attempt (a 429's Retry-After wins, up to 5 min)"},
      {"ORCH_ALERT_QUEUE", K::integer, "1000", "notifications waiting to be sent at most; the oldest is dropped beyond (counted)", 1, 1000000},
      {"REBUILD_WEBHOOK_URL", K::secret_url, "", "CI/CD webhook POSTed {service, container} by diagnose --actions rebuild"},
      {"DIAGNOSE_TIMEOUT", K::duration, "5s", "per-service probe timeout of diagnose and the health loop"},
      {"HISTORY_RETENTION", K::duration, "7d", "how long health probes, hourly counters and the heal/rollback timeline are kept (Redis, or memory without it)"},
      {"HISTORY_MAX_PROBES", K::integer, "20160", "health probes kept per service at most (20160: 7 days at a 30 s HEALTH_INTERVAL; in memory about 64 bytes each)", 10, 1000000},
      // --- docker ---
      {"DOCKER_HOST", K::string, "", "unix:///path or tcp://host:port (overrides DOCKER_SOCKET_PATH)"},
      {"DOCKER_SOCKET_PATH", K::string, "/var/run/docker.sock", "Docker Engine unix socket"},
      {"DOCKER_TLS_VERIFY", K::boolean, "false", "use TLS for tcp:// DOCKER_HOST"},
      {"DOCKER_CERT_PATH", K::string, "", "folder with ca.pem, cert.pem, key.pem"},
      // --- heal (SPEC §7) ---
      {"ORCH_HEAL_SCOPE", K::string, "labelled", "labelled (orch.heal=true or autoheal=true) or all"},
      {"ORCH_HEAL_MAX_RESTARTS", K::integer, "5", "heals per container per window before quarantine"},
      {"ORCH_HEAL_WINDOW", K::duration, "30m", "window of the heal budget"},
      {"ORCH_HEAL_BACKOFF", K::string, "10s:300s", "restart backoff MIN:MAX (first restart is immediate)"},
      {"ORCH_HEAL_RESET_AFTER", K::duration, "10m", "healthy time after which backoff resets"},
      {"ORCH_LEADER_LEASE", K::duration, "15s", "healer leader lease in Redis"},
      {"ORCH_RECONCILE_INTERVAL", K::duration, "30s", "period of the reconcile of the engine's whole state (also on start, reconnect, leadership); 0 = only then"},
      // --- pipeline (SPEC §8) ---
      {"DOCLING_API_VERSION", K::string, "v1", "docling-serve API: v1 (1.x: /v1/..., sources, target inbody) or v1alpha (0.x: /v1alpha/..., http_sources)"},
      {"DOCLING_MODE", K::string, "sync", "sync (POST .../convert/source) or async (convert/source/async, then poll status and fetch the result: long documents)"},
      {"DOCLING_TO_FORMAT", K::string, "md", "docling output format read back as the text: md, text, html, json, doctags"},
      {"DOCLING_TIMEOUT", K::duration, "150s", "timeout of one docling call; above docling-serve's own 120 s sync wait, so its 504 arrives"},
      {"DOCLING_POLL_WAIT", K::duration, "5s", "async mode: how long one status poll may wait for a change (?wait=)"},
      {"DOCLING_TASK_TIMEOUT", K::duration, "30m", "async mode: the longest one conversion task is waited for"},
      {"DOCLING_CONVERT_PATH", K::string, "", "deprecated: sync conversion path (default /<DOCLING_API_VERSION>/convert/source)"},
      {"DOCLING_SOURCE_FORM", K::string, "", "deprecated: sources or http_sources; use DOCLING_API_VERSION (http_sources = v1alpha)"},
      {"DOCLING_OPTIONS", K::string, "", "extra docling conversion options, a JSON object (e.g. {\"do_ocr\":false})"},
      {"DOCLING_API_KEY", K::secret, "", "sent as X-Api-Key (docling-serve's DOCLING_SERVE_API_KEY)"},
      {"CONTENT_SOURCE_URL", K::url, "", "base URL docling fetches content pages from (default WEB_API_URL)"},
      {"RAG_REINDEX_METHOD", K::string, "POST", "method of the re-index call"},
      {"RAG_REINDEX_PATH", K::string, "/reindex", "path of the re-index call (body {id, model, url, text})"},
      {"RAG_DELETE_METHOD", K::string, "POST", "method of the delete call (unpublish/delete)"},
      {"RAG_DELETE_PATH", K::string, "/delete", "path of the delete call (body {id, model, url}); {id} is replaced"},
      {"RAG_QUERY_PATH", K::string, "/query?q={q}", "sync-test's RAG query; {q} is the url-encoded marker"},
      {"RAG_TIMEOUT", K::duration, "30s", "timeout of one RAG call"},
      {"PIPELINE_MAX_ATTEMPTS", K::integer, "5", "attempts per stage before the job goes to orch:dead"},
      {"PIPELINE_BACKOFF", K::string, "1s:30s", "retry backoff MIN:MAX, doubling"},
      {"PIPELINE_WORKERS", K::integer, "2", "pipeline workers per orch serve"},
      {"PIPELINE_CLAIM_IDLE", K::duration, "60s", "a job unacknowledged this long is taken over by another consumer"},
      {"BUILDER_WRITE_URL", K::url, "https://builder.io/api/v1/write", "Builder Write API base (sync-test with BUILDER_PRIVATE_KEY)"},
      {"BUILDER_API_KEY", K::string, "", "Builder.io public API key: looks up payload-less webhooks (\"Disable Payload\") in the Content API"},
      {"BUILDER_CONTENT_URL", K::url, "https://cdn.builder.io", "Builder Content API base"},
      {"BUILDER_PAGE_MODELS", K::string, "page", "comma-separated page models: sync-test writes their URL as the urlPath query and the marker as a Text block"},
      {"ORCH_URL", K::string, "", "where sync-test, MCP's sync_test and diagnose --history (without REDIS_URL) reach orch serve (default from BIND and PORT: http://127.0.0.1:$PORT for 127.0.0.1 or 0.0.0.0, http://[::1]:$PORT for ::, else http://$BIND:$PORT)"},
      // --- rollback ---
      {"ORCH_LKG_AFTER", K::duration, "60s", "healthy (or running) this long makes an image last-known-good"},
      {"ROLLBACK_WINDOW", K::duration, "10m", "automatic rollback only this soon after an image change"},
      {"ROLLBACK_UNHEALTHY_AFTER", K::duration, "5m", "not healthy this long after an image change: roll back"},
      {"ROLLBACK_HEALTH_TIMEOUT", K::duration, "60s", "the replacement must be healthy within this"},
      {"ROLLBACK_TAG_PATTERN", K::string, "v*", "git tags that are releases"},
      {"ROLLBACK_DEPLOY_COMMAND", K::string, "", "shell command run (sh -c) in the repo after a git rollback"},
      {"ROLLBACK_DEPLOY_TIMEOUT", K::duration, "10m", "the deploy command is stopped after this"},
      {"ROLLBACK_REPOS", K::string, "", "repositories that may be rolled back: name=/path or /path, comma-separated; POST /rollback refuses others"},
      {"ROLLBACK_GIT_AUTHOR", K::string, "orch <orch@localhost>", "author of revert commits"},
      {"ROLLBACK_HISTORY_RETENTION", K::duration, "7d", "a service without any container this long is dropped from the release history"},
      {"ROLLBACK_HISTORY_MAX", K::integer, "1000", "services the release history keeps at most; beyond, those gone longest are dropped first (never one with a container)"},
      // --- mcp (SPEC §9) ---
      {"ORCH_MCP_READ_ONLY", K::boolean, "false", "refuse MCP tools that change the stack (dry runs stay allowed)"},
      {"ORCH_MCP_ALLOW", K::string, "", "comma-separated services, compose services or container names MCP's destructive tools may change (also outside orch's scope; sync_test only if named); empty = containers in orch's scope"},
      {"ORCH_MCP_ORIGINS", K::string, "", "extra Origins allowed on /mcp (comma-separated); local origins always are"},
      {"ORCH_MCP_HOSTS", K::string, "", "extra Host names /mcp answers to (comma-separated, name or name:port, * = any); loopback names, the address connected to and BIND always are"},
      {"ORCH_MCP_SESSION_IDLE", K::duration, "10m", "an MCP HTTP session unused this long ends (its id then gets 404)"},
      {"ORCH_MCP_MAX_SESSIONS", K::integer, "100", "MCP HTTP sessions at most; a new one ends the least recently used idle one (503 if all are in use)"},
      {"ORCH_MCP_KEEPALIVE", K::duration, "15s", "interval of keep-alive comments on a quiet MCP SSE stream (GET /mcp)"},
  };
  // clang-format on
  return specs;
}

}  // namespace orch
