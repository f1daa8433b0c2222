using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cli.Tests.Infrastructure;

namespace CoapEnroll.Cli.Tests.Admin;

/// <summary>The operator page over plain HTTP clients: who is refused, and that what devices chose is shown as text.</summary>
public sealed class AdminPageTests
{
    [Fact]
    public async Task NotConfigured_Is404_AndEnabledWithoutACredential_DoesNotStart()
    {
        await using (AdminHost plain = await AdminHost.StartAsync(new Dictionary<string, string?>()))
        {
            using HttpClient client = plain.Client();
            Assert.Equal(HttpStatusCode.NotFound, (await client.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await AdminHost.LogInAsync(client)).StatusCode);
        }

        var open = new Dictionary<string, string?> { ["Admin:Enabled"] = "true" };
        Exception refused = await Assert.ThrowsAnyAsync<Exception>(() => InProcessServer.StartAsync(open));
        Assert.Contains("no operator can authenticate", refused.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoCredentials_401_WrongPassword_401_ThenTooManyFailures_429EvenForTheRightOne()
    {
        Dictionary<string, string?> settings = AdminHost.Settings();
        settings["Admin:MaxFailedLoginsPerAddress"] = "2";
        await using AdminHost host = await AdminHost.StartAsync(settings);
        using HttpClient client = host.Client();

        using HttpResponseMessage page = await client.GetAsync(new Uri("/admin/", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, page.StatusCode);
        Assert.Contains("action=\"/admin/login\"", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal("no-store", page.Headers.CacheControl?.ToString());
        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", "1"), ("csrf", "x"))).StatusCode);

        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminHost.LogInAsync(client, password: "wrong")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await AdminHost.LogInAsync(client, user: "root")).StatusCode);
        using HttpResponseMessage throttled = await AdminHost.LogInAsync(client);
        Assert.Equal(HttpStatusCode.TooManyRequests, throttled.StatusCode);
        Assert.NotNull(throttled.Headers.RetryAfter);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);

        IReadOnlyList<AuditEntry> audit = await host.Store.ListAuditAsync(100, CancellationToken.None);
        Assert.Equal(2, audit.Count(e => e.Action == "admin-login-failed"));
        Assert.DoesNotContain(audit, e => e.Action == "admin-login");
    }

    [Fact]
    public async Task LoginPostedFromAnotherSite_IsRefused_WithoutASession_ThisSiteAndNonBrowsersLogIn()
    {
        await using AdminHost host = await AdminHost.StartAsync();
        using HttpClient client = host.Client();
        foreach ((string header, string value) in new[] { ("Origin", "https://attacker.example"), ("Origin", "null"), ("Sec-Fetch-Site", "cross-site"), ("Sec-Fetch-Site", "same-site") })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri("/admin/login", UriKind.Relative))
            {
                Content = new FormUrlEncodedContent([new("user", AdminHost.User), new("password", AdminHost.Password)]),
            };
            request.Headers.Add(header, value);
            using HttpResponseMessage refused = await client.SendAsync(request);
            Assert.True(refused.StatusCode == HttpStatusCode.Forbidden, $"{header}: {value} gave {refused.StatusCode}");
            Assert.False(refused.Headers.Contains("Set-Cookie"));
            Assert.Contains("another site", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);
        Assert.DoesNotContain(await host.Store.ListAuditAsync(100, CancellationToken.None), e => e.Action == "admin-login");

        // The page's own form (same origin, as a browser says it) and a client that sends neither header log in.
        using var own = new HttpRequestMessage(HttpMethod.Post, new Uri("/admin/login", UriKind.Relative))
        {
            Content = new FormUrlEncodedContent([new("user", AdminHost.User), new("password", AdminHost.Password)]),
        };
        own.Headers.Add("Origin", host.BaseUri.GetLeftPart(UriPartial.Authority));
        own.Headers.Add("Sec-Fetch-Site", "same-origin");
        Assert.Equal(HttpStatusCode.SeeOther, (await client.SendAsync(own)).StatusCode);
        using HttpClient script = host.Client();
        Assert.Equal(HttpStatusCode.SeeOther, (await AdminHost.LogInAsync(script)).StatusCode);
    }

    [Fact]
    public async Task ForgedOrMissingCsrf_Refused_MaliciousSubjectEscaped_ThenApproveRevokeAndLogout()
    {
        await using AdminHost host = await AdminHost.StartAsync();
        var subject = new X500DistinguishedNameBuilder();
        subject.AddCommonName("<script>alert(1)</script><b>evil</b>");
        subject.AddOrganizationName("a&b \"quoted\" 'single'");
        long id = await host.SubmitPendingAsync(subject.Build());

        using HttpClient client = host.Client();
        using HttpResponseMessage login = await AdminHost.LogInAsync(client);
        Assert.Equal(HttpStatusCode.SeeOther, login.StatusCode);
        Assert.Contains(login.Headers.GetValues("Set-Cookie"), c => c.StartsWith("__Host-coapenroll-admin=", StringComparison.Ordinal)
            && c.Contains("httponly", StringComparison.OrdinalIgnoreCase) && c.Contains("secure", StringComparison.OrdinalIgnoreCase)
            && c.Contains("samesite=strict", StringComparison.OrdinalIgnoreCase));

        string dashboard = await client.GetStringAsync(new Uri("/admin/", UriKind.Relative));
        Assert.DoesNotContain("<script>", dashboard, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<b>evil", dashboard, StringComparison.Ordinal);
        Assert.Contains("&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;evil&lt;/b&gt;", dashboard, StringComparison.Ordinal);
        Assert.Contains("a&amp;b ", dashboard, StringComparison.Ordinal);
        Assert.Contains("&quot;quoted", dashboard, StringComparison.Ordinal);
        Assert.DoesNotContain("'single'", dashboard, StringComparison.Ordinal);
        string csrf = AdminHost.CsrfOf(dashboard);

        string idText = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", idText))).StatusCode);
        string forged = Base64UrlOf(RandomNumberGenerator.GetBytes(32));
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", idText), ("csrf", forged))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", idText), ("csrf", csrf[..^1]))).StatusCode);

        // Another session's token is not this session's.
        using HttpClient other = host.Client();
        Assert.Equal(HttpStatusCode.SeeOther, (await AdminHost.LogInAsync(other)).StatusCode);
        string otherCsrf = AdminHost.CsrfOf(await other.GetStringAsync(new Uri("/admin/", UriKind.Relative)));
        Assert.NotEqual(csrf, otherCsrf);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", idText), ("csrf", otherCsrf))).StatusCode);
        Assert.Equal(RequestStatus.Pending, (await host.Store.GetRequestAsync(id, CancellationToken.None))!.Status);

        using HttpResponseMessage approved = await AdminHost.PostFormAsync(client, "/admin/requests/approve", ("id", idText), ("csrf", csrf));
        string approvedPage = await approved.Content.ReadAsStringAsync();
        Assert.True(approved.StatusCode == HttpStatusCode.OK && approvedPage.Contains("Approved request " + idText, StringComparison.Ordinal), approvedPage);
        Assert.DoesNotContain("<script>", approvedPage, StringComparison.OrdinalIgnoreCase);
        StoredRequest issued = (await host.Store.GetRequestAsync(id, CancellationToken.None))!;
        Assert.Equal(RequestStatus.Issued, issued.Status);

        string certificates = await client.GetStringAsync(new Uri("/admin/certificates?q=" + Uri.EscapeDataString("<script>"), UriKind.Relative));
        Assert.Contains(issued.IssuedSerialNumber!, certificates, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", certificates, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("value=\"&lt;script&gt;\"", certificates, StringComparison.Ordinal);

        using HttpResponseMessage revoked = await AdminHost.PostFormAsync(client, "/admin/certificates/revoke", ("serial", issued.IssuedSerialNumber!),
            ("reason", "1"), ("csrf", csrf));
        Assert.True(revoked.StatusCode == HttpStatusCode.OK, await revoked.Content.ReadAsStringAsync());
        StoredCertificate certificate = (await host.Store.GetCertificateAsync(issued.IssuedSerialNumber!, CancellationToken.None))!;
        Assert.Equal(CertificateStatus.Revoked, certificate.Status);
        Assert.Equal(RevocationReasons.KeyCompromise, certificate.RevocationReason);

        IReadOnlyList<AuditEntry> audit = await host.Store.ListAuditAsync(100, CancellationToken.None);
        Assert.Contains(audit, e => e.Actor == "operator:web:" + AdminHost.User && e.Action == "issue");
        Assert.Contains(audit, e => e.Actor == "operator:web:" + AdminHost.User && e.Action == "revoke");
        string auditPage = await client.GetStringAsync(new Uri("/admin/audit", UriKind.Relative));
        Assert.Contains("operator:web:" + AdminHost.User, auditPage, StringComparison.Ordinal);
        Assert.DoesNotContain("<script>", auditPage, StringComparison.OrdinalIgnoreCase);

        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/logout")).StatusCode);
        Assert.Equal(HttpStatusCode.SeeOther, (await AdminHost.PostFormAsync(client, "/admin/logout", ("csrf", csrf))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public async Task ListedClientCertificate_IsAnOperator_AnyOtherIsNot()
    {
        using X509Certificate2 admin = SelfSigned("CN=admin-1");
        using X509Certificate2 stranger = SelfSigned("CN=admin-1");
        Dictionary<string, string?> settings = AdminHost.Settings(password: false);
        settings["Admin:ClientCertificateThumbprints:0"] = admin.GetCertHashString(HashAlgorithmName.SHA256).ToLowerInvariant();
        await using AdminHost host = await AdminHost.StartAsync(settings);
        long id = await host.SubmitPendingAsync(new X500DistinguishedName("CN=by-certificate"));

        using HttpClient nobody = host.Client();
        Assert.Equal(HttpStatusCode.Forbidden, (await nobody.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.LogInAsync(nobody)).StatusCode);
        using HttpClient wrong = host.Client(stranger);
        Assert.Equal(HttpStatusCode.Forbidden, (await wrong.GetAsync(new Uri("/admin/", UriKind.Relative))).StatusCode);

        using HttpClient client = host.Client(admin);
        string dashboard = await client.GetStringAsync(new Uri("/admin/", UriKind.Relative));
        Assert.Contains("CN=by-certificate", dashboard, StringComparison.Ordinal);
        string idText = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(HttpStatusCode.Forbidden, (await AdminHost.PostFormAsync(client, "/admin/requests/reject", ("id", idText), ("csrf", "nope"))).StatusCode);
        using HttpResponseMessage rejected = await AdminHost.PostFormAsync(client, "/admin/requests/reject", ("id", idText), ("reason", "not ours"),
            ("csrf", AdminHost.CsrfOf(dashboard)));
        Assert.True(rejected.StatusCode == HttpStatusCode.OK, await rejected.Content.ReadAsStringAsync());
        StoredRequest request = (await host.Store.GetRequestAsync(id, CancellationToken.None))!;
        Assert.Equal(RequestStatus.Rejected, request.Status);
        Assert.Equal("not ours", request.ReasonDetail);
        IReadOnlyList<AuditEntry> audit = await host.Store.ListAuditAsync(100, CancellationToken.None);
        Assert.Contains(audit, e => e.Action == "reject" && e.Actor.StartsWith("operator:web:admin-1 (certificate SHA-256 ", StringComparison.Ordinal));
    }

    private static X509Certificate2 SelfSigned(string subject)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.2")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    private static string Base64UrlOf(byte[] bytes) => System.Buffers.Text.Base64Url.EncodeToString(bytes);
}
