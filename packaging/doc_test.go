// Package packaging holds the RPM of elb-access-logger: the nfpm
// configuration (nfpm.yaml), the systemd unit, the SysV init script, the
// default property file, the RPM scriptlets and the template of the
// boot-time install script (elb-access-logger-init.sh.in, make
// init-script). It has no Go code of its own; its tests build the binary,
// the RPM and the init script with the Makefile and check what an operator
// would get, the init script against scratch roots. See docs/image.md.
//
// The tests need Debian's rpm, systemd-analyze, haproxy and shellcheck (make
// packaging-deps installs them). Without one of them, the test that needs
// it skips with the reason, or fails when ELB_TEST_DISALLOW_SKIP is set.
package packaging_test
