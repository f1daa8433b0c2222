using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Hosting;

/// <summary>
/// The operator page under <c>/admin</c> (<see cref="AdminEndpointSource"/>): who may use it and how each request is answered.
/// An operator is a TLS client whose certificate's SHA-256 thumbprint is configured, or the holder of a password login session
/// (an HttpOnly, Secure, SameSite=Strict <c>__Host-</c> cookie). Every POST carries the operator's CSRF token, compared in
/// constant time: a session's own random token, or for a certificate an HMAC of its thumbprint under a key made at start. Without
/// credentials a page is 401 with the login form (403 when only certificates are configured); a bad token is 403; failed logins
/// are limited per address and in all (<see cref="LoginFailureThrottle"/>), beyond which the answer is 429 without a password check.
/// Every change goes through the CA's own methods (<see cref="CertificateAuthority.ApproveAsync"/>, <c>RejectAsync</c>,
/// <c>RevokeAsync</c>), which audit it with the operator as actor (<c>operator:web:NAME</c>).
/// </summary>
internal sealed partial class AdminSite
{
    internal const string CookieName = "__Host-coapenroll-admin";
    private const int MaxSubmittedUserLength = 256;
    private const int MaxPasswordLength = 1024;

    private readonly AdminOptions _options;
    private readonly CertificationServices _certification;
    private readonly AdminFigures _figures;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly AdminSessions _sessions;
    private readonly LoginFailureThrottle _throttle;
    private readonly AdminPasswordHash? _password;
    private readonly byte[] _userHash;
    private readonly HashSet<string> _thumbprints;
    private readonly byte[] _csrfKey = RandomNumberGenerator.GetBytes(32);

    /// <exception cref="InvalidOperationException">The <c>Admin</c> section is not usable (<see cref="AdminOptions.Validate"/>).</exception>
    public AdminSite(AdminOptions options, CertificationServices certification, AdminFigures figures, TimeProvider time, ILogger logger)
    {
        if (options.Validate() is { } problem)
        {
            throw new InvalidOperationException(problem);
        }

        _options = options;
        _certification = certification;
        _figures = figures;
        _time = time;
        _logger = logger;
        _sessions = new AdminSessions(options.MaxSessions, TimeSpan.FromMinutes(options.SessionMinutes), time);
        _throttle = new LoginFailureThrottle(options.MaxFailedLoginsPerAddress, options.MaxFailedLogins, TimeSpan.FromSeconds(options.FailedLoginWindowSeconds), time);
        _password = options.HasPassword && AdminPasswordHash.TryParse(options.PasswordHash!, out AdminPasswordHash? hash) ? hash : null;
        _userHash = SHA256.HashData(Encoding.UTF8.GetBytes(options.User ?? ""));
        _thumbprints = new HashSet<string>(options.ClientCertificateThumbprints.Select(t => AdminOptions.NormalizeThumbprint(t)!), StringComparer.Ordinal);
    }

    public void Map(IEndpointRouteBuilder endpoints)
    {
        // "/admin" matches "/admin/" too.
        endpoints.MapGet("/admin", Guarded(DashboardAsync));
        endpoints.MapGet("/admin/certificates", Guarded(CertificatesAsync));
        endpoints.MapGet("/admin/audit", Guarded(AuditAsync));
        endpoints.MapGet("/admin/login", LoginPageAsync);
        endpoints.MapPost("/admin/login", LoginAsync);
        endpoints.MapPost("/admin/logout", GuardedPost(LogoutAsync));
        endpoints.MapPost("/admin/requests/approve", GuardedPost(ApproveAsync));
        endpoints.MapPost("/admin/requests/reject", GuardedPost(RejectAsync));
        endpoints.MapPost("/admin/certificates/revoke", GuardedPost(RevokeAsync));
        LogEnabled(_password is null ? "none" : _options.User!, _thumbprints.Count);
    }

    private RequestDelegate Guarded(Func<HttpContext, AdminPrincipal, Task> page) => async context =>
    {
        if (Authenticate(context) is not { } principal)
        {
            await RefuseUnauthenticatedAsync(context);
            return;
        }

        await page(context, principal);
    };

    private RequestDelegate GuardedPost(Func<HttpContext, AdminPrincipal, IFormCollection, Task> action) => async context =>
    {
        if (Authenticate(context) is not { } principal)
        {
            await RefuseUnauthenticatedAsync(context);
            return;
        }

        if (await ReadFormAsync(context) is not { } form)
        {
            return;
        }

        if (!TokenMatches(form["csrf"].ToString(), principal.CsrfToken))
        {
            LogCsrfRefused(principal.Name, context.Request.Path.Value ?? "", Address(context).ToString());
            await WriteAsync(context, StatusCodes.Status403Forbidden, Message(principal, "Refused", "The form's CSRF token is missing or wrong. Reload the page and try again."));
            return;
        }

        await action(context, principal, form);
    };

    /// <summary>The operator making this request, or null: a listed client certificate first, else a live session cookie.</summary>
    internal AdminPrincipal? Authenticate(HttpContext context)
    {
        if (_thumbprints.Count > 0 && context.Features.Get<TlsPeerCertificatesFeature>()?.Certificates is [X509Certificate2 leaf, ..])
        {
            string thumbprint = leaf.GetCertHashString(HashAlgorithmName.SHA256);
            if (_thumbprints.Contains(thumbprint))
            {
                string name = leaf.GetNameInfo(X509NameType.SimpleName, forIssuer: false) is { Length: > 0 } simple ? simple : thumbprint;
                name = name.Length > 128 ? name[..128] : name;
                string csrf = System.Buffers.Text.Base64Url.EncodeToString(HMACSHA256.HashData(_csrfKey, Encoding.ASCII.GetBytes(thumbprint)));
                return new AdminPrincipal(name, $"operator:web:{name} (certificate SHA-256 {thumbprint})", csrf, null);
            }
        }

        if (_password is not null && _sessions.Find(context.Request.Cookies[CookieName]) is { } session)
        {
            return new AdminPrincipal(session.User, $"operator:web:{session.User}", session.CsrfToken, session);
        }

        return null;
    }

    private Task RefuseUnauthenticatedAsync(HttpContext context)
    {
        if (_password is null)
        {
            return WriteAsync(context, StatusCodes.Status403Forbidden, Message(null, "Client certificate required",
                "This page accepts only a TLS client certificate listed in Admin:ClientCertificateThumbprints."));
        }

        context.Response.Headers.WWWAuthenticate = "Form realm=\"CoapEnroll operator\", action=\"/admin/login\"";
        return WriteAsync(context, StatusCodes.Status401Unauthorized, LoginForm(null));
    }

    private async Task LoginPageAsync(HttpContext context)
    {
        if (Authenticate(context) is not null)
        {
            SeeOther(context, "/admin/");
            return;
        }

        if (_password is null)
        {
            await RefuseUnauthenticatedAsync(context);
            return;
        }

        await WriteAsync(context, StatusCodes.Status200OK, LoginForm(null));
    }

    private async Task LoginAsync(HttpContext context)
    {
        if (_password is null)
        {
            await RefuseUnauthenticatedAsync(context);
            return;
        }

        IPAddress address = Address(context);
        if (IsCrossSite(context.Request))
        {
            LogCrossSiteLogin(address.ToString(), context.Request.Headers.Origin.ToString());
            await WriteAsync(context, StatusCodes.Status403Forbidden, LoginForm("This login was sent from another site's page; log in from this page."));
            return;
        }

        if (_throttle.RetryAfter(address) is { } wait)
        {
            LogThrottled(address.ToString());
            context.Response.Headers.RetryAfter = ((long)Math.Ceiling(wait.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteAsync(context, StatusCodes.Status429TooManyRequests, LoginForm("Too many failed logins; try again later."));
            return;
        }

        if (await ReadFormAsync(context) is not { } form)
        {
            return;
        }

        string user = form["user"].ToString();
        string password = form["password"].ToString();
        bool userMatches = user.Length <= MaxSubmittedUserLength
            && CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(user)), _userHash);

        // The password is checked whatever the user name, so that the time taken does not tell whether the name was right.
        bool passwordMatches = password.Length <= MaxPasswordLength && _password.Verify(password);
        if (!userMatches || !passwordMatches)
        {
            _throttle.Failed(address);
            LogLoginFailed(address.ToString());
            await AuditAsync("operator:web:(not logged in)", "admin-login-failed", $"from {address}", context.RequestAborted);
            await WriteAsync(context, StatusCodes.Status401Unauthorized, LoginForm("Wrong user name or password."));
            return;
        }

        _throttle.Succeeded(address);
        if (_sessions.Create(_options.User!) is not { } created)
        {
            await WriteAsync(context, StatusCodes.Status503ServiceUnavailable, LoginForm("Too many operators are logged in; try again when a session ends."));
            return;
        }

        context.Response.Cookies.Append(CookieName, created.Cookie, new CookieOptions
        {
            HttpOnly = true,
            Secure = true,
            SameSite = SameSiteMode.Strict,
            Path = "/",
            MaxAge = _sessions.Lifetime,
            IsEssential = true,
        });
        LogLoggedIn(_options.User!, address.ToString());
        await AuditAsync($"operator:web:{_options.User}", "admin-login", $"from {address}", context.RequestAborted);
        SeeOther(context, "/admin/");
    }

    // Login CSRF (a page elsewhere posting the attacker's credentials, so that the operator works in the attacker's session): the
    // login form has no session whose token it could carry, so the POST is judged by headers that browsers set and pages cannot,
    // Sec-Fetch-Site, else Origin. A client that sends neither (curl, a script) is not a browser another site can drive.
    private static bool IsCrossSite(HttpRequest request)
    {
        string fetchSite = request.Headers["Sec-Fetch-Site"].ToString();
        if (fetchSite.Length > 0)
        {
            return fetchSite is not ("same-origin" or "none");
        }

        string origin = request.Headers.Origin.ToString();
        return origin.Length > 0 && !string.Equals(origin, $"{request.Scheme}://{request.Host.Value}", StringComparison.OrdinalIgnoreCase);
    }

    private async Task LogoutAsync(HttpContext context, AdminPrincipal principal, IFormCollection form)
    {
        _ = form;
        if (principal.Session is { } session)
        {
            _sessions.Remove(session);
            context.Response.Cookies.Delete(CookieName, new CookieOptions { HttpOnly = true, Secure = true, SameSite = SameSiteMode.Strict, Path = "/" });
            await AuditAsync(principal.Actor, "admin-logout", $"from {Address(context)}", context.RequestAborted);
        }

        SeeOther(context, "/admin/login");
    }

    /// <summary>The form of a POST, or null after answering 415 (not a form) or 400 (unreadable).</summary>
    private static async Task<IFormCollection?> ReadFormAsync(HttpContext context)
    {
        if (!context.Request.HasFormContentType)
        {
            await WriteAsync(context, StatusCodes.Status415UnsupportedMediaType, Message(null, "Not a form", "Expected application/x-www-form-urlencoded."));
            return null;
        }

        try
        {
            return await context.Request.ReadFormAsync(context.RequestAborted);
        }
        catch (Exception ex) when (ex is InvalidDataException or BadHttpRequestException or IOException)
        {
            await WriteAsync(context, StatusCodes.Status400BadRequest, Message(null, "Unreadable form", "The form could not be read."));
            return null;
        }
    }

    /// <summary>303: after a POST, the browser GETs the page (302 would leave the method to the browser).</summary>
    private static void SeeOther(HttpContext context, string path)
    {
        context.Response.StatusCode = StatusCodes.Status303SeeOther;
        context.Response.Headers.Location = path;
    }

    private static bool TokenMatches(string sent, string expected) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent), Encoding.UTF8.GetBytes(expected));

    private static IPAddress Address(HttpContext context) => context.Connection.RemoteIpAddress ?? IPAddress.None;

    private Task AuditAsync(string actor, string action, string details, CancellationToken cancellationToken) =>
        _certification.Store.AppendAuditAsync(new AuditEntry { Timestamp = _time.GetUtcNow(), Actor = actor, Action = action, Details = details }, cancellationToken);

    /// <summary>Writes a page with the headers every answer of the operator page carries: not cached, not framed, no scripts.</summary>
    private static Task WriteAsync(HttpContext context, int status, string html)
    {
        HttpResponse response = context.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        response.Headers.XContentTypeOptions = "nosniff";
        response.Headers.XFrameOptions = "DENY";
        response.Headers["Referrer-Policy"] = "no-referrer";
        response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
        return response.WriteAsync(html, context.RequestAborted);
    }

    [LoggerMessage(471, LogLevel.Information, "Operator page enabled at /admin on the HTTPS listener (password login: {User}; client certificate thumbprints: {Thumbprints})")]
    private partial void LogEnabled(string user, int thumbprints);

    [LoggerMessage(472, LogLevel.Information, "Operator {User} logged in from {Address}")]
    private partial void LogLoggedIn(string user, string address);

    [LoggerMessage(473, LogLevel.Warning, "Failed operator login from {Address}")]
    private partial void LogLoginFailed(string address);

    [LoggerMessage(478, LogLevel.Warning, "Operator login from {Address} refused: posted from another site (Origin {Origin})")]
    private partial void LogCrossSiteLogin(string address, string origin);

    [LoggerMessage(474, LogLevel.Warning, "Operator login from {Address} refused: too many failed logins")]
    private partial void LogThrottled(string address);

    [LoggerMessage(475, LogLevel.Warning, "Operator {User}: {Path} from {Address} refused: CSRF token missing or wrong")]
    private partial void LogCsrfRefused(string user, string path, string address);
}
