"""Hosting recipes: every file's key contents, and the structure of the recipe set."""

from __future__ import annotations

import json
import re
import tomllib

import pytest
import yaml

from monitoring.generators.hosting import (
    GeneratedFile,
    Recipe,
    apache_recipe,
    caddy_recipe,
    cloudflare_workers_recipe,
    github_pages_recipe,
    hosted_recipe,
    hosting_recipes,
    netlify_recipe,
    nginx_recipe,
)
from monitoring.generators.policy import PolicySpec, render_policy

POLICY = render_policy(
    PolicySpec("enforce", 604800, ["*.mail.protection.outlook.com", "backup.mx.example.com"])
)
HOST = "mta-sts.example.com"


def files_by_path(recipe: Recipe) -> dict[str, GeneratedFile]:
    return {f.path: f for f in recipe.files}


def lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines()]


def code(text: str, comment: str = "#") -> str:
    """The text without its comment lines."""
    return "\n".join(line for line in lines(text) if not line.startswith(comment))


def test_all_recipes_are_listed_with_stable_keys():
    recipes = hosting_recipes("Example.COM", POLICY)
    assert list(recipes) == [
        "github-pages",
        "netlify",
        "cloudflare-workers",
        "nginx",
        "apache",
        "caddy",
    ]
    assert "hosted" in hosting_recipes("example.com", POLICY, our_host="policies.stsguard.example")


@pytest.mark.parametrize(
    "key", ["github-pages", "netlify", "cloudflare-workers", "nginx", "apache", "caddy"]
)
def test_every_recipe_is_complete(key):
    recipe = hosting_recipes("example.com", POLICY)[key]
    assert recipe.title and HOST in recipe.explanation
    assert recipe.files and recipe.steps
    assert any(f"curl -si https://{HOST}/.well-known/mta-sts.txt" in s for s in recipe.steps)
    for generated in recipe.files:
        assert generated.content.strip(), generated.path
        assert generated.data == generated.content.encode("utf-8")
        # No placeholder or template variable is left for the user to fill in.
        assert re.search(r"<[a-z][a-z-]*>|\$\{", generated.content) is None, generated.path
        assert generated.media_type.startswith(("text/", "application/"))


def test_policy_files_are_the_exact_bytes_as_text_plain():
    for key, recipe in hosting_recipes("example.com", POLICY).items():
        policy_files = [f for f in recipe.files if f.path.endswith(".well-known/mta-sts.txt")]
        if key == "cloudflare-workers":
            assert policy_files == []
            continue
        (policy_file,) = policy_files
        assert policy_file.data == POLICY.encode("ascii")
        assert policy_file.media_type == "text/plain; charset=utf-8"
        assert policy_file.filename == "mta-sts.txt"


def test_github_pages_files():
    files = files_by_path(github_pages_recipe("example.com", POLICY))
    assert list(files) == [".well-known/mta-sts.txt", "_config.yml", "CNAME", ".gitattributes"]
    assert yaml.safe_load(files["_config.yml"].content) == {"include": [".well-known"]}
    assert files["CNAME"].content == "mta-sts.example.com\n"
    assert "/.well-known/mta-sts.txt -text" in lines(files[".gitattributes"].content)


def test_github_pages_steps():
    steps = github_pages_recipe("example.com", POLICY).steps
    assert any("CNAME <owner>.github.io" in s for s in steps)
    assert any("Enforce HTTPS" in s for s in steps)
    assert any("Verify example.com" in s for s in steps)


def test_netlify_files():
    recipe = netlify_recipe("example.com", POLICY)
    files = files_by_path(recipe)
    assert list(files) == ["public/.well-known/mta-sts.txt", "netlify.toml", ".gitattributes"]
    config = tomllib.loads(files["netlify.toml"].content)
    assert config == {
        "build": {"publish": "public"},
        "headers": [
            {
                "for": "/.well-known/mta-sts.txt",
                "values": {"Content-Type": "text/plain; charset=utf-8"},
            }
        ],
    }
    assert "redirects" not in config
    assert "/public/.well-known/mta-sts.txt -text" in lines(files[".gitattributes"].content)
    assert any("primary domain" in s for s in recipe.steps)
    assert "redirect" in recipe.explanation


def test_cloudflare_worker_embeds_the_policy_and_host():
    files = files_by_path(cloudflare_workers_recipe("example.com", POLICY))
    worker = files["src/index.js"].content
    assert f"const POLICY = {json.dumps(POLICY)};" in worker
    assert 'const POLICY_HOST = "mta-sts.example.com";' in worker
    assert 'const POLICY_PATH = "/.well-known/mta-sts.txt";' in worker
    assert "url.hostname !== POLICY_HOST || url.pathname !== POLICY_PATH" in worker
    assert "status: 404" in worker
    assert '"content-type": "text/plain; charset=utf-8"' in worker
    assert "\\r\\n" in worker  # CRLF kept as escapes in the JS string
    assert "redirect" not in code(worker, "//").lower()


def test_cloudflare_wrangler_uses_a_custom_domain():
    files = files_by_path(cloudflare_workers_recipe("example.com", POLICY))
    config = tomllib.loads(files["wrangler.toml"].content)
    assert config["name"] == "mta-sts-example-com"
    assert config["main"] == "src/index.js"
    assert config["workers_dev"] is False
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", config["compatibility_date"])
    assert config["routes"] == [{"pattern": "mta-sts.example.com", "custom_domain": True}]


def test_cloudflare_worker_name_is_capped_at_63_characters():
    domain = "a" * 60 + ".example.com"
    config = tomllib.loads(
        files_by_path(cloudflare_workers_recipe(domain, POLICY))["wrangler.toml"].content
    )
    assert len(config["name"]) <= 63
    assert re.fullmatch(r"[a-z0-9-]+", config["name"]) and not config["name"].endswith("-")


def test_nginx_server_block():
    recipe = nginx_recipe("example.com", POLICY)
    files = files_by_path(recipe)
    conf = files["/etc/nginx/sites-available/mta-sts.example.com.conf"].content
    assert "/var/www/mta-sts.example.com/.well-known/mta-sts.txt" in files
    conf_lines = lines(conf)
    assert "listen 443 ssl;" in conf_lines
    assert conf_lines.count("server_name mta-sts.example.com;") == 2
    assert (
        "ssl_certificate     /etc/letsencrypt/live/mta-sts.example.com/fullchain.pem;" in conf_lines
    )
    assert (
        "ssl_certificate_key /etc/letsencrypt/live/mta-sts.example.com/privkey.pem;" in conf_lines
    )
    assert "root /var/www/mta-sts.example.com;" in conf_lines
    block = conf[conf.index("location = /.well-known/mta-sts.txt {") :]
    block = block[: block.index("}", block.index("types { }") + 9) + 1]
    assert lines(block)[-4:] == ["types { }", "default_type text/plain;", "charset utf-8;", "}"]
    assert conf_lines.count("return 404;") == 2
    assert not re.search(r"\b30[1278]\b|rewrite|redirect", code(conf))


def test_nginx_custom_paths_and_refused_paths():
    recipe = nginx_recipe(
        "example.com",
        POLICY,
        cert_path="/etc/ssl/a.pem",
        key_path="/etc/ssl/a.key",
        webroot="/srv/sts/",
    )
    files = files_by_path(recipe)
    conf = files["/etc/nginx/sites-available/mta-sts.example.com.conf"].content
    assert "ssl_certificate     /etc/ssl/a.pem;" in conf
    assert "ssl_certificate_key /etc/ssl/a.key;" in conf
    assert "root /srv/sts;" in conf
    assert "/srv/sts/.well-known/mta-sts.txt" in files
    for bad in ["relative/path.pem", "/etc/ssl/my cert.pem", "/etc/ssl/a;b.pem", "/etc/$x.pem"]:
        with pytest.raises(ValueError, match="absolute path without spaces"):
            nginx_recipe("example.com", POLICY, cert_path=bad)
    with pytest.raises(ValueError, match="not / itself"):
        nginx_recipe("example.com", POLICY, webroot="/")


def test_apache_virtual_host():
    files = files_by_path(apache_recipe("example.com", POLICY))
    conf = files["/etc/apache2/sites-available/mta-sts.example.com.conf"].content
    assert "/var/www/mta-sts.example.com/.well-known/mta-sts.txt" in files
    conf_lines = lines(conf)
    assert "<VirtualHost *:443>" in conf_lines
    assert "ServerName mta-sts.example.com" in conf_lines
    assert "SSLEngine on" in conf_lines
    assert (
        "SSLCertificateFile /etc/letsencrypt/live/mta-sts.example.com/fullchain.pem" in conf_lines
    )
    assert "RewriteEngine off" in conf_lines
    assert (
        'Alias "/.well-known/mta-sts.txt" "/var/www/mta-sts.example.com/.well-known/mta-sts.txt"'
        in conf_lines
    )
    assert 'RedirectMatch 404 "^/(?!\\.well-known/mta-sts\\.txt$)"' in conf_lines
    assert '<Directory "/var/www/mta-sts.example.com/.well-known">' in conf_lines
    assert "ForceType text/plain" in conf_lines
    assert "AllowOverride None" in conf_lines
    assert "AddDefaultCharset utf-8" in conf_lines


def test_apache_404_pattern_spares_only_the_policy_path():
    files = files_by_path(apache_recipe("example.com", POLICY))
    conf = files["/etc/apache2/sites-available/mta-sts.example.com.conf"].content
    regex = re.search(r'RedirectMatch 404 "([^"]+)"', conf).group(1)
    assert re.search(regex, "/.well-known/mta-sts.txt") is None
    for path in ["/", "/index.html", "/.well-known/mta-sts.txt2", "/.well-known/", "/mta-sts.txt"]:
        assert re.search(regex, path), path


def test_caddy_site_block():
    files = files_by_path(caddy_recipe("example.com", POLICY))
    conf = files["/etc/caddy/mta-sts.example.com.caddy"].content
    assert "/var/www/mta-sts.example.com/.well-known/mta-sts.txt" in files
    conf_lines = lines(conf)
    assert "mta-sts.example.com {" in conf_lines
    assert "@policy path /.well-known/mta-sts.txt" in conf_lines
    assert "root * /var/www/mta-sts.example.com" in conf_lines
    assert 'header Content-Type "text/plain; charset=utf-8"' in conf_lines
    assert "file_server" in conf_lines
    assert "respond 404" in conf_lines
    assert "redir" not in code(conf)


def test_hosted_recipe():
    recipe = hosted_recipe("example.com", "policies.stsguard.example")
    assert recipe.files == []
    assert "Add mta-sts.example.com CNAME policies.stsguard.example." in recipe.steps
    assert any("Remove any existing A, AAAA or CNAME" in s for s in recipe.steps)


@pytest.mark.parametrize(
    ("domain", "policy", "message"),
    [
        ("example.com", "", "policy text is empty"),
        ("example.com", "   \r\n", "policy text is empty"),
        ("example.com", "x" * (64 * 1024 + 1), "over 64 KiB"),
        ("localhost", POLICY, "single label"),
        ("https://example.com/", POLICY, "Enter just the domain name"),
    ],
)
def test_recipes_refuse_bad_input(domain, policy, message):
    with pytest.raises(ValueError, match=message):
        hosting_recipes(domain, policy)
