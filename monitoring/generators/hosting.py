"""Hosting recipes: the files and steps that put the policy at
``https://mta-sts.<domain>/.well-known/mta-sts.txt``.

Every recipe serves the policy bytes unchanged, as ``text/plain; charset=utf-8``, with a
200 and never a redirect, over HTTPS with a certificate for ``mta-sts.<domain>``
[RFC 8461 3.3]. A relative ``GeneratedFile.path`` (``netlify.toml``) is inside the
repository or project folder; an absolute one (``/etc/nginx/...``) is where the file
goes on the server.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from monitoring.generators import templates
from monitoring.generators.names import normalize_host
from monitoring.generators.records import hosted_cname_record, policy_host

__all__ = [
    "POLICY_MEDIA_TYPE",
    "POLICY_URL_PATH",
    "GeneratedFile",
    "Recipe",
    "apache_recipe",
    "caddy_recipe",
    "cloudflare_workers_recipe",
    "github_pages_recipe",
    "hosted_recipe",
    "hosting_recipes",
    "netlify_recipe",
    "nginx_recipe",
]

POLICY_URL_PATH = "/.well-known/mta-sts.txt"
POLICY_MEDIA_TYPE = "text/plain; charset=utf-8"
MAX_POLICY_BYTES = 64 * 1024  # senders read no more [RFC 8461 3.3]
_PATH_FORBIDDEN = set(" \t\r\n\"';{}$#\\")


@dataclass(frozen=True)
class GeneratedFile:
    """A file to download: where it goes, its full text and its media type."""

    path: str
    content: str
    media_type: str

    @property
    def filename(self) -> str:
        """The last path component, for a ``Content-Disposition`` header."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]

    @property
    def data(self) -> bytes:
        """The bytes to send: UTF-8, line endings untouched."""
        return self.content.encode("utf-8")


@dataclass(frozen=True)
class Recipe:
    """One way to host the policy: a title, why it works, files to create, steps."""

    title: str
    explanation: str
    files: list[GeneratedFile] = field(default_factory=list)
    steps: list[str] = field(default_factory=list)


def hosting_recipes(
    domain: str, policy_text: str, *, our_host: str | None = None
) -> dict[str, Recipe]:
    """Every recipe for ``domain``, keyed by a stable slug; ``hosted`` when ``our_host``.

    ``policy_text`` is served as given (render it with ``render_policy``).
    """
    recipes = {
        "github-pages": github_pages_recipe(domain, policy_text),
        "netlify": netlify_recipe(domain, policy_text),
        "cloudflare-workers": cloudflare_workers_recipe(domain, policy_text),
        "nginx": nginx_recipe(domain, policy_text),
        "apache": apache_recipe(domain, policy_text),
        "caddy": caddy_recipe(domain, policy_text),
    }
    if our_host is not None:
        recipes["hosted"] = hosted_recipe(domain, our_host)
    return recipes


def github_pages_recipe(domain: str, policy_text: str) -> Recipe:
    """A GitHub Pages repository serving the policy under a custom domain."""
    domain, host, policy = _inputs(domain, policy_text)
    return Recipe(
        title="GitHub Pages",
        explanation=(
            f"A small public repository published by GitHub Pages at {host}. Pages serves "
            ".txt files as text/plain with a certificate for the custom domain; the "
            "_config.yml makes Jekyll publish the .well-known folder, which it would skip."
        ),
        files=[
            _policy_file(".well-known/mta-sts.txt", policy),
            GeneratedFile("_config.yml", templates.JEKYLL_CONFIG.substitute(), "text/yaml"),
            GeneratedFile("CNAME", host + "\n", "text/plain"),
            _gitattributes(".well-known/mta-sts.txt"),
        ],
        steps=[
            "Create a public repository (for example mta-sts) and add these files, keeping "
            "the leading dot of the .well-known folder.",
            "Settings > Pages: deploy from the main branch, folder / (root).",
            f"In DNS, add {host} CNAME <owner>.github.io (your user or organisation name).",
            f"Settings > Pages > Custom domain: enter {host} (the CNAME file sets it too) "
            "and wait for the DNS check and the certificate.",
            "Tick Enforce HTTPS once it becomes available.",
            f"Verify {domain} in your GitHub account or organisation's Pages settings "
            "(verified domains) so no other repository can claim the name.",
            _verify_step(host),
        ],
    )


def netlify_recipe(domain: str, policy_text: str) -> Recipe:
    """A Netlify site publishing the policy with an explicit Content-Type."""
    domain, host, policy = _inputs(domain, policy_text)
    return Recipe(
        title="Netlify",
        explanation=(
            f"A static Netlify site at {host}. Netlify publishes the .well-known folder "
            "(it skips other dot-folders) and netlify.toml pins the Content-Type. It must "
            "be the site's primary domain: Netlify answers domain aliases with a redirect, "
            "which senders refuse."
        ),
        files=[
            _policy_file("public/.well-known/mta-sts.txt", policy),
            GeneratedFile(
                "netlify.toml", templates.NETLIFY_TOML.substitute(host=host), "application/toml"
            ),
            _gitattributes("public/.well-known/mta-sts.txt"),
        ],
        steps=[
            "Put these files in a repository and create a Netlify site from it, with no "
            "build command (netlify.toml sets the publish folder).",
            f"Domain management: add {host} and make it the primary domain of this site.",
            f"In DNS, add {host} CNAME <site-name>.netlify.app.",
            "Wait for Netlify to provision the Let's Encrypt certificate (HTTPS section).",
            _verify_step(host),
        ],
    )


def cloudflare_workers_recipe(domain: str, policy_text: str) -> Recipe:
    """A Cloudflare Worker on a Custom Domain returning the policy text."""
    domain, host, policy = _inputs(domain, policy_text)
    worker = templates.WORKER_JS.substitute(
        domain=domain, host=host, host_js=json.dumps(host), policy_js=json.dumps(policy)
    )
    wrangler = templates.WRANGLER_TOML.substitute(host=host, worker_name=_worker_name(host))
    return Recipe(
        title="Cloudflare Workers",
        explanation=(
            f"A Worker bound to the Custom Domain {host}: Cloudflare creates its DNS "
            "record and certificate. It returns the policy for that one URL with "
            "content-type text/plain; charset=utf-8 and 404 for anything else. The zone "
            f"{domain} must be active on Cloudflare."
        ),
        files=[
            GeneratedFile("src/index.js", worker, "text/javascript"),
            GeneratedFile("wrangler.toml", wrangler, "application/toml"),
        ],
        steps=[
            "Put the two files in a folder, keeping src/index.js under src/.",
            f"Remove any existing DNS record for {host}; the Custom Domain creates its own.",
            "Run npx wrangler login, then npx wrangler deploy in that folder.",
            _verify_step(host),
        ],
    )


def nginx_recipe(
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    webroot: str | None = None,
) -> Recipe:
    """An nginx site for ``mta-sts.<domain>``; certificate paths default to certbot's."""
    domain, host, policy = _inputs(domain, policy_text)
    cert_path, key_path, webroot = _server_paths(host, cert_path, key_path, webroot)
    conf = templates.NGINX_SITE.substitute(
        domain=domain, host=host, cert_path=cert_path, key_path=key_path, webroot=webroot
    )
    site = f"/etc/nginx/sites-available/{host}.conf"
    return Recipe(
        title="nginx",
        explanation=(
            f"A server block for {host} that serves the policy file with an exact-match "
            "location as text/plain; charset=utf-8, answers 404 to every other path and "
            "never redirects."
        ),
        files=[
            GeneratedFile(site, conf, "text/plain"),
            _policy_file(f"{webroot}{POLICY_URL_PATH}", policy),
        ],
        steps=[
            f"Point {host} (A/AAAA records) at this server.",
            f"Copy mta-sts.txt to {webroot}{POLICY_URL_PATH} and {host}.conf to {site}.",
            f"Get a certificate: sudo certbot certonly --nginx -d {host} (files at "
            f"{cert_path} and {key_path}; change the paths in the file if yours differ).",
            f"sudo ln -s {site} /etc/nginx/sites-enabled/ && sudo nginx -t && "
            "sudo systemctl reload nginx",
            _verify_step(host),
        ],
    )


def apache_recipe(
    domain: str,
    policy_text: str,
    *,
    cert_path: str | None = None,
    key_path: str | None = None,
    webroot: str | None = None,
) -> Recipe:
    """An Apache VirtualHost for ``mta-sts.<domain>``; certificate paths default to certbot's."""
    domain, host, policy = _inputs(domain, policy_text)
    cert_path, key_path, webroot = _server_paths(host, cert_path, key_path, webroot)
    policy_file = f"{webroot}{POLICY_URL_PATH}"
    conf = templates.APACHE_SITE.substitute(
        domain=domain,
        host=host,
        cert_path=cert_path,
        key_path=key_path,
        policy_file=policy_file,
        policy_dir=policy_file.rsplit("/", 1)[0],
    )
    site = f"/etc/apache2/sites-available/{host}.conf"
    return Recipe(
        title="Apache httpd",
        explanation=(
            f"A VirtualHost for {host}: an Alias maps the policy URL to the file, ForceType "
            "makes it text/plain (charset utf-8), rewriting is off and every other path "
            "gets a plain 404."
        ),
        files=[
            GeneratedFile(site, conf, "text/plain"),
            _policy_file(policy_file, policy),
        ],
        steps=[
            f"Point {host} (A/AAAA records) at this server.",
            f"Copy mta-sts.txt to {policy_file} and {host}.conf to {site}.",
            "sudo a2enmod ssl alias mime",
            f"Get a certificate: sudo certbot certonly --apache -d {host} (files at "
            f"{cert_path} and {key_path}; change the paths in the file if yours differ).",
            f"sudo a2ensite {host} && sudo apache2ctl configtest && sudo systemctl reload apache2",
            _verify_step(host),
        ],
    )


def caddy_recipe(domain: str, policy_text: str, *, webroot: str | None = None) -> Recipe:
    """A Caddy site block serving the policy file with an explicit Content-Type."""
    domain, host, policy = _inputs(domain, policy_text)
    webroot = _check_webroot(webroot or f"/var/www/{host}")
    conf = templates.CADDYFILE.substitute(domain=domain, host=host, webroot=webroot)
    site = f"/etc/caddy/{host}.caddy"
    return Recipe(
        title="Caddy",
        explanation=(
            f"A site block for {host}. Caddy gets the certificate itself; the policy file "
            "is served with Content-Type text/plain; charset=utf-8 and any other path is "
            "404. A file keeps the policy's exact bytes, which a quoted respond body might "
            "not."
        ),
        files=[
            GeneratedFile(site, conf, "text/plain"),
            _policy_file(f"{webroot}{POLICY_URL_PATH}", policy),
        ],
        steps=[
            f"Point {host} (A/AAAA records) at this server; ports 80 and 443 must reach "
            "Caddy for the certificate.",
            f"Copy mta-sts.txt to {webroot}{POLICY_URL_PATH} and {host}.caddy to {site}.",
            f"Add the line import {site} to /etc/caddy/Caddyfile.",
            "sudo caddy validate --config /etc/caddy/Caddyfile && sudo systemctl reload caddy",
            _verify_step(host),
        ],
    )


def hosted_recipe(domain: str, our_host: str) -> Recipe:
    """We serve the policy: the customer only adds one CNAME."""
    record = hosted_cname_record(domain, our_host)
    return Recipe(
        title="Hosted by us",
        explanation=(
            f"We serve the policy at https://{record.name}{POLICY_URL_PATH} with a "
            "certificate we obtain and renew, and keep it in step with what you set here."
        ),
        files=[],
        steps=[
            f"Remove any existing A, AAAA or CNAME record for {record.name}.",
            f"Add {record.name} CNAME {record.value}.",
            "Come back here: we check the record, issue the certificate and start serving.",
        ],
    )


def _inputs(domain: str, policy_text: str) -> tuple[str, str, str]:
    if not isinstance(policy_text, str) or not policy_text.strip():
        raise ValueError("The policy text is empty.")
    if len(policy_text.encode("utf-8")) > MAX_POLICY_BYTES:
        raise ValueError("The policy text is over 64 KiB; senders would refuse it.")
    domain = normalize_host(domain)
    return domain, policy_host(domain), policy_text


def _policy_file(path: str, policy: str) -> GeneratedFile:
    return GeneratedFile(path, policy, POLICY_MEDIA_TYPE)


def _gitattributes(policy_path: str) -> GeneratedFile:
    return GeneratedFile(
        ".gitattributes", templates.GITATTRIBUTES.substitute(policy_path=policy_path), "text/plain"
    )


def _server_paths(
    host: str, cert_path: str | None, key_path: str | None, webroot: str | None
) -> tuple[str, str, str]:
    live = f"/etc/letsencrypt/live/{host}"
    return (
        _check_path(cert_path or f"{live}/fullchain.pem"),
        _check_path(key_path or f"{live}/privkey.pem"),
        _check_webroot(webroot or f"/var/www/{host}"),
    )


def _check_webroot(path: str) -> str:
    root = _check_path(path).rstrip("/")
    if not root:
        raise ValueError("The web root must be a folder below /, not / itself.")
    return root


def _check_path(path: str) -> str:
    # Paths go unquoted into nginx and Caddy files, where these characters end a token.
    if not path.startswith("/") or any(c in _PATH_FORBIDDEN for c in path):
        raise ValueError(
            f"{path!r} must be an absolute path without spaces, quotes, ;, {{, }} or $."
        )
    return path


def _worker_name(host: str) -> str:
    # Worker names: lower-case letters, digits and dashes, at most 63 characters.
    return host.replace(".", "-")[:63].rstrip("-")


def _verify_step(host: str) -> str:
    return (
        f"Check: curl -si https://{host}{POLICY_URL_PATH} shows HTTP 200, "
        "content-type text/plain and the policy text, with no redirect."
    )
