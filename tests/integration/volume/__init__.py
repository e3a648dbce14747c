"""Volume drivers against the real thing: tgtd, QEMU's iSCSI initiator, LVM on loop devices."""
