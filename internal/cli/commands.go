package cli

// senderCommands is the table of sealprint subcommands. Each command lives
// in its own file (cmd_<name>.go).
func senderCommands() []command {
	return []command{
		{"keys", "manage your own key and the recipients' keys (address book)", runKeys},
		{"seal", "encrypt and sign a file offline, like gpg -e", runSeal},
		{"open", "decrypt a sealed file or download and decrypt a link", runOpen},
		{"verify-proof", "check a proof of delivery offline", runVerifyProof},
		{"enroll", "save the relay address and enrolment token", runEnroll},
		{"send", "seal a file and upload it to the relay; prints the link", runSend},
		{"render", "turn a document into the PDF a recipient gets", runRender},
		{"pdfsign", "sign a PDF with your certificate (PAdES), or choose the key", runPDFSign},
		{"pdfverify", "check the signatures of a PDF", runPDFVerify},
		{"demo", "run the whole product in one process on embedded defaults", runDemo},
		{"serve", "run the printer and the delivery service", runServe},
		{"jobs", "list, release, cancel and retry print jobs", runJobs},
		{"replies", "list the recipients' secure replies to the drops you sent", runReplies},
		{"queues", "list, add and remove printer queues", runQueues},
		{"doctor", "check config, keys, relay, proxies and printer queues", runDoctor},
		{"install", "install the service, the agent and the printers on this computer", runInstall},
		{"uninstall", "remove what 'sealprint install' added", runUninstall},
		{"agent", "per-user companion: notifications, opens the jobs page", runAgent},
	}
}

// relayCommands is the table of sealrelay subcommands.
func relayCommands() []command {
	return []command{
		{"serve", "run the relay (drops API, uploads, downloads)", runRelayServe},
		{"token", "create, list and revoke organisation tokens and sender credentials", runRelayToken},
		{"senders", "list senders, approve their identity, revoke them", runRelaySenders},
		{"drops", "list drops (metadata only, never content)", runRelayDrops},
		{"audit", "verify the signed audit log, print its key, export a proof of delivery", runRelayAudit},
		{"keys", "manage the key directory", runRelayKeys},
		{"policy", "set or show the organisation's sending policy", runRelayPolicy},
		{"migrate", "move an embedded relay's data to PostgreSQL and S3", runRelayMigrate},
	}
}
