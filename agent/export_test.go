package agent

// HAProxyDroppedLogs exposes haproxyDroppedLogs to the external tests.
var HAProxyDroppedLogs = haproxyDroppedLogs
