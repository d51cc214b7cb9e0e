"""End-to-end: a boot on each network platform family the e2e lacked, OpenStack and Azure.

The guest is told which platform it is on the way the platform tells it: the firmware's DMI
strings (QEMU ``-smbios``, the values Nova's libvirt driver and Hyper-V set), and for Azure the
provisioning CD-ROM. The metadata services are the fake servers of ``tests/datasources``
(``platform_servers.PlatformState``, the shapes of ``test_ds_azure``) on 127.0.0.1, reached by
the guest at the platforms' own addresses through QEMU ``guestfwd``. Each boot logs in over SSH
with the key that came from that platform's metadata, and checks the hostname it gave.
"""

from __future__ import annotations

import base64
import contextlib
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import guest
from test_boot import SSH_WAIT, boot, check_root_login_refused, cloud_config, status

sys.path.insert(0, str(Path(__file__).parents[1] / "datasources"))

from ds_servers import _shutdown  # noqa: E402
from platform_servers import PlatformState, start  # noqa: E402
from test_ds_azure import GOAL, imds_state, ovf_env, wire_state  # noqa: E402


@contextlib.contextmanager
def serving(state: PlatformState):
    """A platform fake on 127.0.0.1:<free port>; returns its port."""
    running = start(state)
    try:
        yield running.server.server_address[1]
    finally:
        _shutdown(running)


def guest_mac_hex() -> str:
    return guest.GUEST_MAC.replace(":", "")


# --- OpenStack: the Nova metadata service at 169.254.169.254 -----------------------------------

# What Nova's libvirt driver puts in SMBIOS type 1 (nova/virt/libvirt/driver.py
# _get_guest_config_sysinfo, nova/version.py): vendor "OpenStack Foundation", product
# "OpenStack Nova", the Nova version, the instance uuid as uuid (and, by default, as serial),
# family "Virtual Machine".
OS_UUID = "5d1c0ab6-2f56-4f1c-9e4a-1b7e2e0e2e14"
OS_SMBIOS = [f"type=1,manufacturer=OpenStack Foundation,product=OpenStack Nova,version=27.1.0,"
             f"serial={OS_UUID},uuid={OS_UUID},family=Virtual Machine"]
# Slirp forwards (guestfwd) only to addresses inside its virtual network: a /24 holding the
# link-local metadata address, with the guest's DHCP lease in it (as test_ec2_imdsv2 does).
OS_NET = "net=169.254.169.0/24,host=169.254.169.1,dhcpstart=169.254.169.15,dns=169.254.169.3"


def openstack_routes(pubkey: str) -> dict[str, object]:
    """The Nova metadata tree (docs.openstack.org, "Metadata service": meta_data.json,
    user_data, vendor_data2.json, network_data.json) for one instance with one key pair."""
    meta = {"uuid": OS_UUID, "name": "e2e-openstack", "hostname": "e2e-openstack.novalocal",
            "availability_zone": "nova", "project_id": "3c1f0a6a0e2e4e14a2b1c0d9e8f7a6b5",
            "launch_index": 0, "public_keys": {"e2e-key": pubkey + "\n"},
            "keys": [{"name": "e2e-key", "type": "ssh", "data": pubkey + "\n"}], "meta": {}}
    network = {"links": [{"id": "tap0e2e0014-01", "type": "ovs", "ethernet_mac_address": guest.GUEST_MAC,
                          "mtu": 1500, "vif_id": "0e2e0014-01aa-4bbb-8ccc-dddddddddddd"}],
               "networks": [{"id": "network0", "type": "ipv4_dhcp", "link": "tap0e2e0014-01",
                             "network_id": "7c1a5e2e-0014-4f00-9000-000000000001"}],
               "services": []}
    user_data = cloud_config({
        # The metadata's key pair goes to the default user (the image's rancher) and to root
        # behind disable_root_opts; cloud, listed here, gets none of it (cloud-init's rule).
        "users": ["default", {"name": "cloud", "shell": "/bin/bash", "sudo": "ALL=(ALL) NOPASSWD:ALL"}],
        "write_files": [{"path": "/etc/e2e/openstack.txt", "content": "from Nova user_data\n"}],
    })
    return {"GET /openstack": "2012-08-10\n2013-04-04\n2016-06-30\n2018-08-27\nlatest",
            "GET /openstack/latest/meta_data.json": meta,
            "GET /openstack/latest/user_data": user_data,
            "GET /openstack/latest/vendor_data.json": {},
            "GET /openstack/latest/vendor_data2.json": {},
            "GET /openstack/latest/network_data.json": network}


def test_openstack_metadata_service(image, key, pubkey, tmp_path):
    """Nova's metadata service over HTTP (no ConfigDrive): DMI names OpenStack, nothing in the
    settings does; the user-data creates the users, the metadata's key pair logs in the default
    user (cloud-init's rule), and root's copy of it only says to log in as that user."""
    state = PlatformState(routes=openstack_routes(pubkey))
    with serving(state) as port, \
            boot(image, tmp_path, "openstack", netdev_extra=OS_NET, smbios=OS_SMBIOS,
                 guestfwd=[("169.254.169.254", 80, port)]) as vm:
        took = vm.wait_ssh(key, "rancher", SSH_WAIT)
        print(f"openstack: SSH login after {took:.1f} s")
        sh = lambda cmd: vm.ssh(key, "rancher", cmd)  # noqa: E731
        assert sh("hostname").strip() == "e2e-openstack"
        assert sh("cat /etc/e2e/openstack.txt") == "from Nova user_data\n"
        assert sh("cat /sys/class/dmi/id/product_name").strip() == "OpenStack Nova"
        assert sh("getent passwd cloud").startswith("cloud:")
        assert sh("sudo test -e /home/cloud/.ssh/authorized_keys; echo $?").strip() == "1"
        check_root_login_refused(vm, key, "rancher")
        rc, out = status(vm, key, "rancher")
        assert rc == 0, out
        assert f"instance {OS_UUID}" in out, out  # Nova's uuid, from meta_data.json
    paths = [p for _, p, _ in state.requests]
    assert "/openstack/latest/meta_data.json" in paths and "/openstack/latest/user_data" in paths, paths


# --- Azure: provisioning CD-ROM, IMDS, and the wireserver's report ready ------------------------

AZ_UUID = "8f4e2e14-7b0c-4c8e-9a51-3d2b6c0e2e14"
# Hyper-V's SMBIOS: system "Microsoft Corporation" / "Virtual Machine", and the chassis asset
# tag every Azure VM carries (the one rule that names Azure: ros_init/sources/platform_id.py).
AZ_SMBIOS = [f"type=1,manufacturer=Microsoft Corporation,product=Virtual Machine,version=7.0,uuid={AZ_UUID}",
             "type=3,manufacturer=Microsoft Corporation,asset=7783-7084-3265-9085-8269-3286-77"]
AZ_WIRESERVER = "168.63.129.16"
# 168.0.0.0/7 is the smallest network holding both 168.63.129.16 and 169.254.169.254.
AZ_NET = "net=168.0.0.0/7,host=169.254.169.1,dhcpstart=169.254.169.15,dns=169.254.169.3"
AZ_INCARNATION = "3"


def health_reports(state: PlatformState) -> list[ET.Element]:
    return [ET.fromstring(body) for path, body in state.bodies if path.startswith("/machine?comp=health")]


def test_azure_cdrom_imds_and_report_ready(image, key, pubkey, tmp_path):
    """Azure as a VM sees it: DMI's chassis asset tag; the provisioning CD-ROM with
    ``ovf-env.xml`` (user, key, host name, CustomData) labelled as Azure labels it; IMDS at
    169.254.169.254 (``Metadata: true``); and the wireserver at 168.63.129.16, which must get
    exactly one Ready health report echoing its goal state.

    The network: QEMU's user networking (``restrict=on``) forwards only to addresses inside its
    virtual network, and the two Azure addresses share no /24. Azure itself hands the
    wireserver's address to the guest in DHCP option 245, which slirp cannot send; ros-init does
    not read it either: it uses the fixed address Microsoft documents (168.63.129.16, the same in
    every region), or ``azure.wireserver`` from the settings. Setting that would test a
    configuration no Azure image has, so the guest gets a virtual network that holds both real
    addresses (168.0.0.0/7) and reaches them where a VM on Azure reaches them, with the image's
    settings unchanged.

    The media: Azure's is UDF; it is ISO 9660 here (xorriso, the CI's tool: a host without the
    udf module cannot build a UDF image), with Azure's volume label. ros-init reads
    ``/dev/sr0`` whatever its label; a UDF disc, whose superblock ros-init does not name, is
    mounted with ``-t auto``, which this boot does not cover.
    """
    user = "azureuser"
    custom = cloud_config({"write_files": [{"path": "/etc/e2e/azure.txt", "content": "from CustomData\n"}]})
    media = guest.seed_iso(tmp_path / "provisioning.iso",
                           {"ovf-env.xml": ovf_env(custom.encode(), hostname="e2e-azure", user=user, key=pubkey)},
                           label="rd_rdfe_stable.e2e14")
    compute = {"location": "westeurope", "name": "e2e-azure", "vmId": AZ_UUID, "vmSize": "Standard_B1s",
               "osType": "Linux", "publicKeys": [{"keyData": pubkey, "path": f"/home/{user}/.ssh/authorized_keys"}],
               "osProfile": {"adminUsername": user, "computerName": "e2e-azure",
                             "disablePasswordAuthentication": "true"}}
    network = {"interface": [{"macAddress": guest_mac_hex().upper(), "ipv6": {"ipAddress": []},
                              "ipv4": {"subnet": [{"address": "168.0.0.0", "prefix": "7"}],
                                       "ipAddress": [{"privateIpAddress": "169.254.169.15", "publicIpAddress": ""}]}}]}
    imds, wire = imds_state(compute=compute, network=network), wire_state(AZ_INCARNATION)
    with serving(imds) as imds_port, serving(wire) as wire_port, \
            boot(image, tmp_path, "azure", cdrom=media, netdev_extra=AZ_NET, smbios=AZ_SMBIOS,
                 guestfwd=[("169.254.169.254", 80, imds_port), (AZ_WIRESERVER, 80, wire_port)]) as vm:
        took = vm.wait_ssh(key, user, SSH_WAIT)
        print(f"azure: SSH login after {took:.1f} s")
        sh = lambda cmd: vm.ssh(key, user, cmd)  # noqa: E731
        assert sh("hostname").strip() == "e2e-azure"
        assert sh("cat /etc/e2e/azure.txt") == "from CustomData\n"
        assert pubkey in sh("cat ~/.ssh/authorized_keys")
        rc, out = status(vm, key, user)
        assert rc == 0, out
        assert f"instance {AZ_UUID}" in out, out  # the VM's id: DMI product_uuid (= IMDS vmId, as on Azure)
        end = time.monotonic() + 120
        while not health_reports(wire) and time.monotonic() < end:
            time.sleep(1)
        journal = sh("sudo journalctl -b -o cat -u 'ros-init*' | grep -i azure || true")
        # The boot phase (before the network) left the report to the network phase at once,
        # rather than holding the boot retrying an unreachable wireserver.
        boot_phase = sh("sudo journalctl -b -o cat -u ros-init-boot.service")
        assert "report to the wireserver is left to the network phase" in boot_phase, boot_phase
        assert "Azure wireserver" not in boot_phase, boot_phase
    assert all(h.get("metadata") == "true" for _, _, h in imds.requests)
    assert any(p.startswith("/metadata/instance?api-version=") for _, p, _ in imds.requests), imds.requests
    reports = health_reports(wire)
    assert len(reports) == 1, (reports, journal)
    [health] = reports
    goal = ET.fromstring(GOAL.format(inc=AZ_INCARNATION))
    assert health.findtext("GoalStateIncarnation") == AZ_INCARNATION
    assert health.findtext("Container/ContainerId") == goal.findtext("Container/ContainerId")
    assert health.findtext("Container/RoleInstanceList/Role/InstanceId") == \
        goal.findtext("Container/RoleInstanceList/RoleInstance/InstanceId")
    assert health.findtext("Container/RoleInstanceList/Role/Health/State") == "Ready"
    # the goal state was read before the report, with the wireserver's headers
    methods = [(m, p) for m, p, _ in wire.requests]
    assert methods.index(("GET", "/machine/?comp=goalstate")) < methods.index(("POST", "/machine?comp=health"))
    # the user-data (CustomData) is never echoed on the console
    assert base64.b64encode(custom.encode()).decode() not in vm.console_text()
