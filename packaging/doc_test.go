// Package packaging holds the RPM of elb-access-logger: the nfpm
// configuration (nfpm.yaml), the systemd unit, the SysV init script, the
// default property file and the RPM scriptlets. It has no Go code of its
// own; its tests build the binary and the RPM with the Makefile and check
// what an operator would get. See docs/image.md.
//
// The tests need Debian's rpm, systemd-analyze and haproxy (make
// packaging-deps installs them). Without one of them, the test that needs
// it skips with the reason, or fails when ELB_TEST_DISALLOW_SKIP is set.
package packaging_test
