package turnserver

// Test helpers the external test package (turnserver_test) shares.
var ProsodyServices = prosodyServices
