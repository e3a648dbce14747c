#!/bin/sh
# /init of nova's test guest (tools/build-guest-image puts it into the initramfs).
# Everything runs from the initramfs except root's home: the instance's disk
# (/dev/vda, ext4) is mounted on /root, so files written there survive a
# stop/start.  Every line meant for tests starts with "NOVA-GUEST ".
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /run /var/log /etc/dropbear
mount -t devpts devpts /dev/pts
exec </dev/console >/dev/console 2>&1

say() { echo "NOVA-GUEST $*"; }

for module in $(cat /lib/modules/order); do
    insmod "/lib/modules/$module.ko" || say "insmod-failed=$module"
done
say boot uptime=$(cut -d' ' -f1 /proc/uptime)

if [ -b /dev/vda ] && mount -t ext4 /dev/vda /root; then
    say root-disk=/dev/vda
else
    say root-disk=none
fi
chmod 700 /root
say "disks=$(cd /sys/block && echo vd*)"

ip link set lo up
ip link set eth0 up
leased=
for attempt in 1 2 3 4 5; do
    if udhcpc -i eth0 -n -q -t 5 -T 1 -s /etc/udhcpc.script; then leased=1; break; fi
done
[ -n "$leased" ] || say dhcp=failed
[ -f /run/lease ] && say "dhcp $(cat /run/lease)"

# GET http://169.254.169.254/latest/$1 into $2 with busybox nc (busybox wget
# is not trusted here); returns non-zero unless the answer is a 200.
fetch() {
    printf 'GET /latest/%s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' "$1" \
        | nc -w 10 169.254.169.254 80 > /tmp/response || return 1
    head -n 1 /tmp/response | grep -q ' 200 ' || return 1
    awk 'body { print; next } { sub(/\r$/, "") } $0 == "" { body = 1 }' /tmp/response > "$2"
}

for attempt in 1 2 3 4 5 6 7 8 9 10; do
    fetch meta-data/instance-id /run/instance-id && break
    sleep 1
done
for key in instance-id local-ipv4 public-ipv4 hostname; do
    if fetch "meta-data/$key" "/run/$key"; then
        say "$key=$(cat "/run/$key")"
    else
        say "$key="
    fi
done
[ -s /run/hostname ] && hostname "$(cut -d. -f1 /run/hostname)"
say "uname-n=$(hostname)"

mkdir -p /root/.ssh
chmod 700 /root/.ssh
if fetch meta-data/public-keys/0/openssh-key /run/openssh-key && [ -s /run/openssh-key ]; then
    cat /run/openssh-key > /root/.ssh/authorized_keys
    chmod 600 /root/.ssh/authorized_keys
    say "public-key=$(cut -d' ' -f1,3 /run/openssh-key)"
fi

dropbearkey -t ed25519 -f /etc/dropbear/dropbear_ed25519_host_key >/dev/null 2>&1
dropbear -s -r /etc/dropbear/dropbear_ed25519_host_key -p 22 && say sshd=22
nc -ll -p 7 -e cat &
say echo=7

if fetch user-data /run/user-data; then
    say "user-data-bytes=$(wc -c < /run/user-data)"
    head -n 20 /run/user-data | sed 's/^/NOVA-GUEST user-data: /'
    if [ "$(head -c 2 /run/user-data)" = "#!" ]; then
        chmod +x /run/user-data
        /run/user-data 2>&1 | sed 's/^/NOVA-GUEST user-data-output: /'
    fi
fi
# The ACPI power button (libvirt's shutdown, a soft reboot) powers off cleanly.
for event in /sys/class/input/event*; do
    if grep -q "Power Button" "$event/device/name" 2>/dev/null; then
        (dd if="/dev/input/${event##*/}" bs=24 count=1 >/dev/null 2>&1
         say acpi-power-button; sync; umount /root; poweroff -f) &
    fi
done
say ready uptime=$(cut -d' ' -f1 /proc/uptime)
while :; do sleep 3600; done
