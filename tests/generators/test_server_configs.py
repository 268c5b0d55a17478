"""The generated nginx, Apache, Caddy and Cloudflare Worker files, run by the real software.

Debian packages: nginx-light (or nginx), apache2, caddy, nodejs. Each test is skipped,
with the package to install, when its binary is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from monitoring.checks.policy import parse_policy
from monitoring.generators.hosting import (
    apache_recipe,
    caddy_recipe,
    cloudflare_workers_recipe,
    nginx_recipe,
)
from monitoring.generators.policy import PolicySpec, render_policy
from tests.generators.servers import find_binary, free_port, https_get, running

DOMAIN = "example.com"
HOST = "mta-sts.example.com"
POLICY = render_policy(PolicySpec("enforce", 604800, ["*.mail.protection.outlook.com"]))
POLICY_PATH = "/.well-known/mta-sts.txt"
OTHER_PATHS = ["/", "/index.html", "/.well-known/", "/.well-known/mta-sts.txt2", "/mta-sts.txt"]

NGINX = find_binary("nginx")
APACHE = find_binary("apache2")
APACHE_MODULES = Path("/usr/lib/apache2/modules")
CADDY = find_binary("caddy")
NODE = find_binary("node") or find_binary("nodejs")

needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx missing: apt-get install nginx-light")
needs_apache = pytest.mark.skipif(
    APACHE is None or not APACHE_MODULES.is_dir(), reason="apache2 missing: apt-get install apache2"
)
needs_caddy = pytest.mark.skipif(CADDY is None, reason="caddy missing: apt-get install caddy")
needs_node = pytest.mark.skipif(NODE is None, reason="node missing: apt-get install nodejs")


@dataclass
class Site:
    """A scratch directory with a test CA, a certificate for HOST and a web root."""

    root: Path
    ca_file: Path
    cert: Path
    key: Path

    @property
    def webroot(self) -> Path:
        return self.root / "www"

    def install(self, files: list, name: str) -> str:
        """Write the recipe's policy file under the web root; return the config's text."""
        (config,) = [f for f in files if not f.path.endswith(POLICY_PATH)]
        (policy,) = [f for f in files if f.path.endswith(POLICY_PATH)]
        target = Path(policy.path)
        assert target.is_relative_to(self.webroot), target
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(policy.data)
        (self.root / name).write_bytes(config.data)
        return config.content


@pytest.fixture
def site() -> Iterator[Site]:
    # Not tmp_path: Apache's workers run as nobody when the tests run as root, and
    # pytest's temporary directories are private to their owner.
    root = Path(tempfile.mkdtemp(prefix="mta-sts-recipe-"))
    root.chmod(0o755)
    try:
        ca = trustme.CA()
        issued = ca.issue_cert(HOST)
        ca.cert_pem.write_to_path(root / "ca.pem")
        issued.private_key_pem.write_to_path(root / "key.pem")
        for index, blob in enumerate(issued.cert_chain_pems):
            blob.write_to_path(root / "cert.pem", append=index > 0)
        (root / "www").mkdir(mode=0o755)
        yield Site(root, root / "ca.pem", root / "cert.pem", root / "key.pem")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def assert_serves_only_the_policy(port: int, ca_file: Path) -> None:
    response = https_get(port, HOST, POLICY_PATH, ca_file)
    assert response.status == 200
    assert response.headers["content-type"].replace(" ", "").lower() == ("text/plain;charset=utf-8")
    assert response.body == POLICY.encode("ascii")
    assert "location" not in response.headers
    _, findings = parse_policy(response.body, f"https://{HOST}{POLICY_PATH}")
    assert findings == []
    for path in OTHER_PATHS:
        other = https_get(port, HOST, path, ca_file)
        assert other.status == 404, path
        assert "location" not in other.headers, path


# nginx ------------------------------------------------------------------------------


def nginx_main(site: Site, include: Path, *, foreground: bool) -> Path:
    scratch = site.root / "nginx"
    scratch.mkdir(exist_ok=True)
    temp_paths = "".join(
        f"    {kind}_temp_path {scratch / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    head = "daemon off;\nmaster_process off;\n" if foreground else ""
    main = site.root / "nginx-main.conf"
    main.write_text(
        f"{head}pid {scratch / 'nginx.pid'};\nerror_log stderr;\nevents {{}}\n"
        f"http {{\n    access_log off;\n{temp_paths}"
        f"    include /etc/nginx/mime.types;\n    include {include};\n}}\n"
    )
    return main


def nginx_files(site: Site) -> list:
    recipe = nginx_recipe(
        DOMAIN, POLICY, cert_path=str(site.cert), key_path=str(site.key), webroot=str(site.webroot)
    )
    return recipe.files


@needs_nginx
def test_nginx_accepts_the_generated_site(site):
    site.install(nginx_files(site), "site.conf")
    main = nginx_main(site, site.root / "site.conf", foreground=False)
    result = subprocess.run(
        [NGINX, "-t", "-q", "-c", str(main), "-p", str(site.root), "-e", "stderr"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


@needs_nginx
def test_nginx_serves_the_policy_and_404_elsewhere(site):
    conf = site.install(nginx_files(site), "site.conf")
    port, http_port = free_port(), free_port()
    live = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    live = live.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    live = "\n".join(line for line in live.splitlines() if "listen [::]" not in line)
    assert live.count("127.0.0.1") == 2
    (site.root / "live.conf").write_text(live)
    main = nginx_main(site, site.root / "live.conf", foreground=True)
    with running([NGINX, "-c", str(main), "-p", str(site.root), "-e", "stderr"], port):
        assert_serves_only_the_policy(port, site.ca_file)


# Apache -----------------------------------------------------------------------------

APACHE_MODULES_NEEDED = ["mpm_event", "authz_core", "alias", "mime", "ssl", "rewrite"]


def apache_main(site: Site, include: Path, listen: str) -> Path:
    loads = "".join(
        f"LoadModule {name}_module {APACHE_MODULES / f'mod_{name}.so'}\n"
        for name in APACHE_MODULES_NEEDED
    )
    user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
    main = site.root / "apache-main.conf"
    main.write_text(
        f"ServerRoot {site.root}\nServerName localhost\nPidFile {site.root / 'apache.pid'}\n"
        f"Mutex file:{site.root} default\nErrorLog /dev/stderr\n{user}{loads}"
        f"TypesConfig /etc/mime.types\nListen {listen}\nInclude {include}\n"
    )
    return main


def apache_files(site: Site) -> list:
    recipe = apache_recipe(
        DOMAIN, POLICY, cert_path=str(site.cert), key_path=str(site.key), webroot=str(site.webroot)
    )
    return recipe.files


@needs_apache
def test_apache_accepts_the_generated_virtual_host(site):
    site.install(apache_files(site), "site.conf")
    main = apache_main(site, site.root / "site.conf", "127.0.0.1:443")
    result = subprocess.run([APACHE, "-t", "-f", str(main)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "Syntax OK" in result.stderr


@needs_apache
def test_apache_serves_the_policy_and_404_elsewhere(site):
    conf = site.install(apache_files(site), "site.conf")
    port = free_port()
    live = conf.replace("<VirtualHost *:443>", f"<VirtualHost 127.0.0.1:{port}>")
    assert live != conf
    (site.root / "live.conf").write_text(live)
    main = apache_main(site, site.root / "live.conf", f"127.0.0.1:{port}")
    with running([APACHE, "-X", "-f", str(main)], port):
        assert_serves_only_the_policy(port, site.ca_file)


# Caddy ------------------------------------------------------------------------------


def caddy_env(site: Site) -> dict[str, str]:
    home = site.root / "caddy-home"
    return {
        **os.environ,
        "HOME": str(home),
        "XDG_DATA_HOME": str(home / "data"),
        "XDG_CONFIG_HOME": str(home / "config"),
    }


def caddy_files(site: Site) -> list:
    return caddy_recipe(DOMAIN, POLICY, webroot=str(site.webroot)).files


@needs_caddy
def test_caddy_accepts_the_generated_site_block(site):
    site.install(caddy_files(site), "Caddyfile")
    result = subprocess.run(
        [CADDY, "validate", "--config", str(site.root / "Caddyfile"), "--adapter", "caddyfile"],
        capture_output=True,
        text=True,
        env=caddy_env(site),
    )
    assert result.returncode == 0, result.stderr
    formatted = subprocess.run(
        [CADDY, "fmt", str(site.root / "Caddyfile")], capture_output=True, text=True
    )
    assert formatted.stdout == (site.root / "Caddyfile").read_text()  # already caddy fmt-clean


@needs_caddy
def test_caddy_serves_the_policy_and_404_elsewhere(site):
    conf = site.install(caddy_files(site), "Caddyfile")
    port = free_port()
    # A test certificate instead of ACME, loopback only, and no admin endpoint.
    live = conf.replace(
        f"{HOST} {{\n",
        f"https://{HOST}:{port} {{\n\tbind 127.0.0.1\n\ttls {site.cert} {site.key}\n",
    )
    assert live != conf
    options = f"{{\n\tadmin off\n\tstorage file_system {site.root / 'caddy-data'}\n}}\n"
    (site.root / "Live.caddyfile").write_text(options + live)
    command = [
        CADDY,
        "run",
        "--config",
        str(site.root / "Live.caddyfile"),
        "--adapter",
        "caddyfile",
    ]
    with running(command, port, env=caddy_env(site)):
        assert_serves_only_the_policy(port, site.ca_file)


# Cloudflare Worker ------------------------------------------------------------------

WORKER_HARNESS = """\
import worker from "./index.mjs";
const cases = JSON.parse(process.argv[2]);
const out = [];
for (const [method, url] of cases) {
  const response = await worker.fetch(new Request(url, { method }));
  const body = Buffer.from(await response.arrayBuffer()).toString("latin1");
  out.push({
    status: response.status,
    contentType: response.headers.get("content-type"),
    location: response.headers.get("location"),
    body,
  });
}
console.log(JSON.stringify(out));
"""


@needs_node
def test_worker_is_valid_javascript(tmp_path):
    files = {f.path: f for f in cloudflare_workers_recipe(DOMAIN, POLICY).files}
    (tmp_path / "index.mjs").write_bytes(files["src/index.js"].data)
    result = subprocess.run([NODE, "--check", str(tmp_path / "index.mjs")], capture_output=True)
    assert result.returncode == 0, result.stderr


@needs_node
def test_worker_answers_only_the_policy_url(tmp_path):
    files = {f.path: f for f in cloudflare_workers_recipe(DOMAIN, POLICY).files}
    (tmp_path / "index.mjs").write_bytes(files["src/index.js"].data)
    (tmp_path / "harness.mjs").write_text(WORKER_HARNESS)
    cases = [
        ["GET", f"https://{HOST}{POLICY_PATH}"],
        ["HEAD", f"https://{HOST}{POLICY_PATH}"],
        ["GET", f"https://MTA-STS.Example.com{POLICY_PATH}?x=1"],
        ["GET", f"https://{HOST}/"],
        ["GET", f"https://{HOST}/.well-known/mta-sts.txt/"],
        ["GET", f"https://www.example.com{POLICY_PATH}"],
        ["POST", f"https://{HOST}{POLICY_PATH}"],
    ]
    result = subprocess.run(
        [NODE, str(tmp_path / "harness.mjs"), json.dumps(cases)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    answers = json.loads(result.stdout)
    ok = {"status": 200, "contentType": "text/plain; charset=utf-8", "location": None}
    assert answers[0] == {**ok, "body": POLICY}
    assert answers[1] == {**ok, "body": ""}
    assert answers[2] == {**ok, "body": POLICY}
    for answer in answers[3:6]:
        assert (answer["status"], answer["location"]) == (404, None)
    assert answers[6]["status"] == 405
