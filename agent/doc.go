// Package agent runs the access-log agent: it loads the property file,
// receives HAProxy syslog datagrams, appends the encoded lines to the active
// window file of the spool, seals the window at each scheduled tick and hands
// sealed segments to an Uploader.
//
// The agent knows nothing of S3 or of HAProxy's text: the parser package
// turns datagrams into lines and the Uploader interface, declared here, is
// satisfied by the uploader package.
package agent
