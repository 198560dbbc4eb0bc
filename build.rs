// Present so that the optional `openssl-src` build dependency (feature `vendored-ssl3`) takes
// part in the build graph; nothing is generated.
fn main() {}
