using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using Microsoft.AspNetCore.Http;

namespace CoapEnroll.Hosting;

/// <summary>The pages of the operator site: the login form, pending requests with the figures, certificates, the audit log.</summary>
internal sealed partial class AdminSite
{
    /// <summary>Rows on one page (pending requests, certificates found, audit entries).</summary>
    internal const int PageSize = 50;

    /// <summary>The audit log is paged back this far (PageSize × MaxAuditPages entries), newest first.</summary>
    internal const int MaxAuditPages = 200;

    /// <summary>A subject search looks at this many of the newest certificates (an exact subject or serial is found in all).</summary>
    internal const int SearchWindow = 2000;

    private const int MaxQueryLength = 512;

    private const string Style = "body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0}"
        + "th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;vertical-align:top}th{background:#eee}"
        + "nav a{margin-right:1em}.message{background:#eef6ee;border:1px solid #7a7;padding:.5em}.error{background:#fbeaea;border-color:#c77}"
        + "form.inline{display:inline}td.subject{font-family:monospace;word-break:break-all}";

    private static readonly (int Code, string Name)[] s_revocationReasons =
        [.. new[] { 0, 1, 2, 3, 4, 5, 6, 9, 10 }.Select(code => (code, RevocationReasons.NameOf(code)))];

    private static string LoginForm(string? error)
    {
        AdminHtml html = Begin(null, "Log in", error is null ? AdminMarkup.Empty : AdminHtml.Fragment($"<p class=\"message error\" role=alert>{error}</p>"));
        html.Add($"<form method=post action=\"/admin/login\" id=login><p><label>User <input name=user id=user autocomplete=username required></label></p>"
            + $"<p><label>Password <input name=password id=password type=password autocomplete=current-password required></label></p>"
            + $"<p><button type=submit id=login-button>Log in</button></p></form>");
        return End(html);
    }

    private static string Message(AdminPrincipal? principal, string title, string text)
    {
        AdminHtml html = Begin(principal, title, AdminHtml.Fragment($"<p class=\"message error\" role=alert>{text}</p>"));
        return End(html);
    }

    private static AdminHtml Begin(AdminPrincipal? principal, string title, AdminMarkup message)
    {
        var html = new AdminHtml();
        html.Add($"<!DOCTYPE html><html lang=en><head><meta charset=utf-8><title>CoapEnroll operator: {title}</title>"
            + $"<style>{new AdminMarkup(Style)}</style></head><body><header><h1>CoapEnroll operator</h1>");
        if (principal is not null)
        {
            html.Add($"<nav><a href=\"/admin/\">Pending requests</a><a href=\"/admin/certificates\">Certificates</a><a href=\"/admin/audit\">Audit log</a>"
                + $"<form class=inline method=post action=\"/admin/logout\"><input type=hidden name=csrf value=\"{principal.CsrfToken}\">"
                + $"<button type=submit>Log out {principal.Name}</button></form></nav>");
        }

        html.Add($"</header><main><h2>{title}</h2>{message}");
        return html;
    }

    private static string End(AdminHtml html)
    {
        html.Add($"</main></body></html>");
        return html.ToString();
    }

    private static AdminMarkup Csrf(AdminPrincipal principal) => AdminHtml.Fragment($"<input type=hidden name=csrf value=\"{principal.CsrfToken}\">");

    private static AdminMarkup Notice(string text, bool error = false) =>
        error ? AdminHtml.Fragment($"<p class=\"message error\" role=alert>{text}</p>") : AdminHtml.Fragment($"<p class=message role=status>{text}</p>");

    private Task DashboardAsync(HttpContext context, AdminPrincipal principal) => WriteDashboardAsync(context, principal, StatusCodes.Status200OK, AdminMarkup.Empty);

    private async Task WriteDashboardAsync(HttpContext context, AdminPrincipal principal, int status, AdminMarkup message)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        ICertificateStore store = _certification.Store;
        (int pendingCount, _) = await store.CountPendingRequestsAsync("", cancellationToken);
        int revokedCount = (await store.ListRevokedAsync(cancellationToken)).Count;
        IReadOnlyList<StoredRequest> pending = await store.ListPendingRequestsAsync(PageSize, cancellationToken);

        AdminHtml html = Begin(principal, "Pending requests", message);
        if (pending.Count == 0)
        {
            html.Add($"<p id=no-pending>No requests are waiting for approval.</p>");
        }
        else
        {
            html.Add($"<table id=pending><tr><th>Id</th><th>Received</th><th>Profile</th><th>Protocol</th><th>Requester</th><th>Registrar</th><th>Subject</th><th>Decision</th></tr>");
            foreach (StoredRequest request in pending)
            {
                html.Add($"<tr id=\"request-{request.Id}\"><td>{request.Id}</td><td>{request.CreatedAt}</td><td>{request.Profile}</td><td>{request.Protocol}</td>"
                    + $"<td>{request.Requester}</td><td>{request.Registrar ?? "-"}</td><td class=subject>{SubjectOf(request)}</td><td>"
                    + $"<form class=inline method=post action=\"/admin/requests/approve\">{Csrf(principal)}<input type=hidden name=id value=\"{request.Id}\">"
                    + $"<button type=submit class=approve>Approve</button></form> "
                    + $"<form class=inline method=post action=\"/admin/requests/reject\">{Csrf(principal)}<input type=hidden name=id value=\"{request.Id}\">"
                    + $"<input name=reason placeholder=\"reason\" maxlength={CertificateAuthority.MaxOperatorTextLength}> <button type=submit class=reject>Reject</button></form></td></tr>");
            }

            html.Add($"</table>");
            if (pendingCount > pending.Count)
            {
                html.Add($"<p>The oldest {pending.Count} of {pendingCount} are shown; decide on these to see the next.</p>");
            }
        }

        html.Add($"<h2>Figures</h2><table id=figures><tr><th>Requests waiting for approval</th><td id=pending-count>{pendingCount}</td></tr>"
            + $"<tr><th>Certificates revoked (all time)</th><td>{revokedCount}</td></tr>");
        foreach ((string name, long value) in _figures.Snapshot())
        {
            html.Add($"<tr><th>{name} (since start)</th><td>{value}</td></tr>");
        }

        html.Add($"</table>");
        await WriteAsync(context, status, End(html));
    }

    private Task CertificatesAsync(HttpContext context, AdminPrincipal principal) =>
        WriteCertificatesAsync(context, principal, context.Request.Query["q"].ToString(), StatusCodes.Status200OK, AdminMarkup.Empty);

    private async Task WriteCertificatesAsync(HttpContext context, AdminPrincipal principal, string query, int status, AdminMarkup message)
    {
        CancellationToken cancellationToken = context.RequestAborted;
        ICertificateStore store = _certification.Store;
        string q = query.Trim();
        q = q.Length > MaxQueryLength ? q[..MaxQueryLength] : q;
        List<StoredCertificate> found;
        if (q.Length == 0)
        {
            found = [.. await store.ListCertificatesAsync(PageSize, cancellationToken)];
        }
        else
        {
            found = [];
            string hex = q.Replace(":", "", StringComparison.Ordinal);
            if (hex.Length is > 0 and <= IssuanceRequest.MaxSerialNumberHexLength && hex.All(char.IsAsciiHexDigit)
                && await store.GetCertificateAsync(hex, cancellationToken) is { } bySerial)
            {
                found.Add(bySerial);
            }

            found.AddRange(await store.FindCertificatesBySubjectAsync(q, PageSize, cancellationToken));
            found.AddRange((await store.ListCertificatesAsync(SearchWindow, cancellationToken)).Where(c => c.Subject.Contains(q, StringComparison.OrdinalIgnoreCase)));
            found = [.. found.DistinctBy(c => c.SerialNumber, StringComparer.Ordinal).Take(PageSize)];
        }

        AdminHtml html = Begin(principal, "Certificates", message);
        html.Add($"<form method=get action=\"/admin/certificates\"><label>Subject or serial <input name=q id=q value=\"{q}\" maxlength={MaxQueryLength}></label> "
            + $"<button type=submit>Search</button></form>");
        html.Add($"<p>{(q.Length == 0 ? $"The newest {found.Count.ToString(CultureInfo.InvariantCulture)}" : $"{found.Count.ToString(CultureInfo.InvariantCulture)} found (a subject part is looked for among the newest {SearchWindow.ToString(CultureInfo.InvariantCulture)})")}.</p>");
        if (found.Count > 0)
        {
            html.Add($"<table id=certificates><tr><th>Serial</th><th>Subject</th><th>Profile</th><th>Requester</th><th>Valid until</th><th>Status</th><th>Revoke</th></tr>");
            foreach (StoredCertificate certificate in found)
            {
                html.Add($"<tr id=\"certificate-{certificate.SerialNumber}\"><td class=subject>{certificate.SerialNumber}</td><td class=subject>{certificate.Subject}</td>"
                    + $"<td>{certificate.Profile}</td><td>{certificate.Requester}</td><td>{certificate.NotAfter}</td><td>{StatusOf(certificate)}</td><td>");
                if (certificate.Status != CertificateStatus.Revoked)
                {
                    html.Add($"<form class=inline method=post action=\"/admin/certificates/revoke\">{Csrf(principal)}"
                        + $"<input type=hidden name=serial value=\"{certificate.SerialNumber}\"><select name=reason>{ReasonOptions()}</select> "
                        + $"<button type=submit class=revoke>Revoke</button></form>");
                }

                html.Add($"</td></tr>");
            }

            html.Add($"</table>");
        }

        await WriteAsync(context, status, End(html));
    }

    private async Task AuditAsync(HttpContext context, AdminPrincipal principal)
    {
        int page = int.TryParse(context.Request.Query["page"].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out int p) ? Math.Min(p, MaxAuditPages - 1) : 0;
        IReadOnlyList<AuditEntry> upToPage = await _certification.Store.ListAuditAsync((page + 1) * PageSize, context.RequestAborted);
        AuditEntry[] entries = [.. upToPage.Skip(page * PageSize)];

        AdminHtml html = Begin(principal, "Audit log", AdminMarkup.Empty);
        html.Add($"<p>Newest first, page {page + 1}.</p><table id=audit><tr><th>Id</th><th>Time</th><th>Actor</th><th>Action</th><th>Details</th></tr>");
        foreach (AuditEntry entry in entries)
        {
            html.Add($"<tr><td>{entry.Id}</td><td>{entry.Timestamp}</td><td>{entry.Actor}</td><td>{entry.Action}</td><td class=subject>{entry.Details}</td></tr>");
        }

        html.Add($"</table><p>");
        if (page > 0)
        {
            html.Add($"<a href=\"/admin/audit?page={page - 1}\" rel=prev>Newer</a> ");
        }

        if (upToPage.Count == (page + 1) * PageSize && page + 1 < MaxAuditPages)
        {
            html.Add($"<a href=\"/admin/audit?page={page + 1}\" rel=next>Older</a>");
        }

        html.Add($"</p>");
        await WriteAsync(context, StatusCodes.Status200OK, End(html));
    }

    private static AdminMarkup ReasonOptions()
    {
        var html = new AdminHtml();
        foreach ((int code, string name) in s_revocationReasons)
        {
            html.Add($"<option value=\"{code}\">{name}</option>");
        }

        return new AdminMarkup(html.ToString());
    }

    private string StatusOf(StoredCertificate certificate) => certificate.Status switch
    {
        CertificateStatus.Revoked => certificate.RevokedAt is { } at
            ? string.Create(CultureInfo.InvariantCulture, $"revoked {at.UtcDateTime:yyyy-MM-dd HH:mm:ss} UTC ({RevocationReasons.NameOf(certificate.RevocationReason ?? 0)})")
            : "revoked",
        CertificateStatus.Superseded => "superseded",
        _ => certificate.NotAfter < _time.GetUtcNow() ? "expired" : "active",
    };

    /// <summary>
    /// The subject a stored request asks for (PKCS#10, or CMP's CRMF), as the platform prints it (RFC 4514), or a note saying why it
    /// cannot be shown. The caller encodes it: a device chose it.
    /// </summary>
    internal static string SubjectOf(StoredRequest request)
    {
        if (request.ReadSubject() is not { } subject)
        {
            return "(unreadable request)";
        }

        try
        {
            return subject.Name is { Length: > 0 } name ? name : "(empty subject)";
        }
        catch (CryptographicException)
        {
            return $"(undecodable subject, DER {Convert.ToHexString(subject.RawData.AsSpan(0, Math.Min(subject.RawData.Length, 256)))})";
        }
    }
}
