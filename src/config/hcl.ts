/**
 * HCL config files: the parser lives in lib/ so ACL policy rules (catalog/acl) can use it too.
 *
 * @module
 */
export { HclSyntaxError, parseHcl } from "../lib/hcl.js";
