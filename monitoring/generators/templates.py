"""Text templates for the hosting recipes (``string.Template``: ``${name}``, ``$$`` for $).

Kept as plain text blocks, one per file, so each reads as the file it becomes.
"""

from __future__ import annotations

from string import Template

__all__ = [
    "APACHE_SITE",
    "CADDYFILE",
    "GITATTRIBUTES",
    "JEKYLL_CONFIG",
    "NETLIFY_TOML",
    "NGINX_SITE",
    "WORKER_JS",
    "WRANGLER_TOML",
]

# Git would otherwise be free to rewrite the policy's CRLF line endings.
GITATTRIBUTES = Template("""\
# Keep the MTA-STS policy byte for byte as generated.
/${policy_path} -text
""")

JEKYLL_CONFIG = Template("""\
# GitHub Pages runs Jekyll, which skips folders whose names start with a dot.
include: [".well-known"]
""")

NETLIFY_TOML = Template("""\
# Netlify site serving https://${host}/.well-known/mta-sts.txt (RFC 8461).
[build]
  publish = "public"

[[headers]]
  for = "/.well-known/mta-sts.txt"
  [headers.values]
    Content-Type = "text/plain; charset=utf-8"
""")

WORKER_JS = Template("""\
// Cloudflare Worker serving the MTA-STS policy of ${domain} (RFC 8461).
// Senders fetch https://${host}/.well-known/mta-sts.txt and refuse redirects, so this
// answers that one URL directly and 404 to anything else. When the policy changes,
// redeploy and change the id in the _mta-sts.${domain} TXT record.
const POLICY_HOST = ${host_js};
const POLICY_PATH = "/.well-known/mta-sts.txt";
const POLICY = ${policy_js};

export default {
  async fetch(request) {
    const url = new URL(request.url);
    if (url.hostname !== POLICY_HOST || url.pathname !== POLICY_PATH) {
      return new Response("Not found\\n", {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(null, { status: 405, headers: { allow: "GET, HEAD" } });
    }
    return new Response(request.method === "HEAD" ? null : POLICY, {
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  },
};
""")

WRANGLER_TOML = Template("""\
# Deploy with: npx wrangler deploy
name = "${worker_name}"
main = "src/index.js"
compatibility_date = "2024-11-01"
workers_dev = false

# A Custom Domain: Cloudflare creates the DNS record and the certificate for it.
routes = [
  { pattern = "${host}", custom_domain = true },
]
""")

NGINX_SITE = Template("""\
# MTA-STS policy host for ${domain} (RFC 8461).
# Senders fetch https://${host}/.well-known/mta-sts.txt and refuse redirects,
# so this answers that one path directly and 404 to everything else.

server {
    listen 80;
    listen [::]:80;
    server_name ${host};

    # Senders never use plain HTTP; certbot --nginx adds its challenge here on renewal.
    location / {
        return 404;
    }
}

server {
    listen 443 ssl;
    listen [::]:443 ssl;
    server_name ${host};

    ssl_certificate     ${cert_path};
    ssl_certificate_key ${key_path};
    ssl_protocols TLSv1.2 TLSv1.3;

    root ${webroot};

    location = /.well-known/mta-sts.txt {
        # Whatever mime.types says, this file is text/plain; charset=utf-8.
        types { }
        default_type text/plain;
        charset utf-8;
    }

    location / {
        return 404;
    }
}
""")

APACHE_SITE = Template("""\
# MTA-STS policy host for ${domain} (RFC 8461).
# Senders fetch https://${host}/.well-known/mta-sts.txt and refuse redirects,
# so this answers that one path directly and 404 to everything else.
# Needs: a2enmod ssl alias mime
<VirtualHost *:443>
    ServerName ${host}

    SSLEngine on
    SSLCertificateFile ${cert_path}
    SSLCertificateKeyFile ${key_path}
    SSLProtocol -all +TLSv1.2 +TLSv1.3

    # No rewrite may turn the policy into a redirect.
    <IfModule mod_rewrite.c>
        RewriteEngine off
    </IfModule>

    Alias "/.well-known/mta-sts.txt" "${policy_file}"
    # A 4xx status makes RedirectMatch answer directly: no Location, no redirect.
    RedirectMatch 404 "^/(?!\\.well-known/mta-sts\\.txt$$)"

    <Directory "${policy_dir}">
        Options None
        AllowOverride None
        Require all granted
        <Files "mta-sts.txt">
            ForceType text/plain
        </Files>
    </Directory>
    AddDefaultCharset utf-8
</VirtualHost>
""")

CADDYFILE = Template("""\
# MTA-STS policy host for ${domain} (RFC 8461).
# Caddy obtains and renews the certificate itself. Senders fetch
# https://${host}/.well-known/mta-sts.txt and refuse redirects, so that path is served
# directly and everything else is 404.
${host} {
	@policy path /.well-known/mta-sts.txt
	handle @policy {
		root * ${webroot}
		header Content-Type "text/plain; charset=utf-8"
		file_server
	}
	handle {
		respond 404
	}
}
""")
