using System.Buffers.Text;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Est;

/// <summary>
/// EST over HTTPS (RFC 7030 with the corrections of RFC 8951): <c>cacerts</c>, <c>csrattrs</c>, <c>simpleenroll</c>,
/// <c>simplereenroll</c> and <c>serverkeygen</c> under each configured root and under <c>root/{label}/</c> (the label names a CA
/// profile, RFC 7030 §3.2.2), in front of the same <see cref="EnrollmentService"/> as EST-coaps, sharing its enrollment steps
/// (<see cref="EstEnrollmentFlow"/>). Map it on an HTTPS listener only (RFC 7030 §3.3): it reads the peer from the TLS connection,
/// the client certificate chain as sent (<see cref="TlsPeerCertificatesFeature"/>, or Kestrel's leaf) and tls-unique, and leaves
/// whom it authenticates to the enrollment core. Per profile, HTTP Basic authentication (RFC 7030 §3.2.3) may be accepted or
/// required (<see cref="EstServerOptions.BasicAuthentication"/>). Who may ask is decided before the body is read.
/// </summary>
public sealed class EstHttpsServer
{
    /// <summary>The front end recorded with each request in the CA store.</summary>
    public const string FrontEnd = "est-https";

    private const string CaCerts = "cacerts";
    private const string CsrAttrs = "csrattrs";
    private const string SimpleEnroll = "simpleenroll";
    private const string SimpleReenroll = "simplereenroll";
    private const string ServerKeyGen = "serverkeygen";

    private const string CertsOnlyType = "application/pkcs7-mime; smime-type=certs-only";
    private const string CsrAttrsType = "application/csrattrs";
    private const string Pkcs10Type = "application/pkcs10";
    private const string Pkcs8Type = "application/pkcs8";
    private const string ServerGeneratedKeyType = "application/pkcs7-mime; smime-type=server-generated-key";

    /// <summary>The channel name in the refusals that name the channel binding ("... of this TLS session").</summary>
    private const string ChannelName = "TLS";

    /// <summary>The longest request body: the base64 of the longest CSR, with room for line breaks (RFC 8951 §3.1).</summary>
    private static readonly int s_maxBodyLength = (4 * ((IssuanceRequest.MaxCsrLength + 2) / 3)) * 17 / 16 + 256;

    private readonly EstEnrollmentFlow _flow;
    private readonly EstBasicCredentials _basic;
    private readonly LoginFailureThrottle _basicFailures;
    private readonly Dictionary<string, EstBasicAuthentication> _basicModes = new(StringComparer.Ordinal);
    private readonly ILogger _logger;

    /// <summary>An EST-over-HTTPS server in front of the host's <paramref name="enrollment"/> service.</summary>
    /// <exception cref="ArgumentException">The Basic authentication settings are unusable (the message names the entry).</exception>
    public EstHttpsServer(EstServerOptions options, EnrollmentService enrollment, ILogger<EstHttpsServer>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(enrollment);
        Options = options;
        _flow = new EstEnrollmentFlow(options, enrollment, timeProvider ?? TimeProvider.System);
        _basic = new EstBasicCredentials(options.BasicUsers);
        if (options.ValidateBasicLimits() is { } limits)
        {
            throw new ArgumentException(limits);
        }

        _basicFailures = new LoginFailureThrottle(options.MaxFailedBasicLoginsPerAddress, options.MaxFailedBasicLogins,
            TimeSpan.FromSeconds(options.FailedBasicLoginWindowSeconds), timeProvider ?? TimeProvider.System);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        foreach ((string profile, string value) in options.BasicAuthentication)
        {
            if (!enrollment.Authority.Profiles.All.Any(p => p.Name == profile))
            {
                throw new ArgumentException($"Est:BasicAuthentication:{profile}: no such profile (profiles: {string.Join(", ", enrollment.Authority.Profiles.All.Select(p => p.Name))})");
            }

            if (!Enum.TryParse(value, ignoreCase: true, out EstBasicAuthentication mode) || !Enum.IsDefined(mode) || int.TryParse(value, out _))
            {
                throw new ArgumentException($"Est:BasicAuthentication:{profile}: '{value}' is not Off, Accepted or Required");
            }

            _basicModes[profile] = mode;
        }

        if (options.BasicRealm.Contains('"', StringComparison.Ordinal) || options.BasicRealm.Any(char.IsControl))
        {
            throw new ArgumentException("Est:BasicRealm: the realm may contain neither '\"' nor control characters");
        }
    }

    public EstServerOptions Options { get; }

    /// <summary>Maps the EST endpoints under every configured root and <c>root/{label}</c>.</summary>
    public void Map(IEndpointRouteBuilder endpoints)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        foreach (string configured in Options.Roots)
        {
            string root = "/" + configured.Trim('/');
            foreach (string prefix in (string[])[root, root + "/{label}"])
            {
                endpoints.MapGet($"{prefix}/{CaCerts}", context => HandleGetAsync(context, CaCerts));
                endpoints.MapPost($"{prefix}/{SimpleEnroll}", context => HandleEnrollAsync(context, SimpleEnroll));
                endpoints.MapPost($"{prefix}/{SimpleReenroll}", context => HandleEnrollAsync(context, SimpleReenroll));
                if (Options.EnableCsrAttributes)
                {
                    endpoints.MapGet($"{prefix}/{CsrAttrs}", context => HandleGetAsync(context, CsrAttrs));
                }

                if (Options.EnableServerKeyGeneration)
                {
                    endpoints.MapPost($"{prefix}/{ServerKeyGen}", context => HandleEnrollAsync(context, ServerKeyGen));
                }
            }

            EstLog.MappedHttps(_logger, root, Options.EnableCsrAttributes, Options.EnableServerKeyGeneration);
        }
    }

    // ---- /cacerts (RFC 7030 §4.1), /csrattrs (§4.5, RFC 8951 §4) ------------------------------------------------------

    private async Task HandleGetAsync(HttpContext context, string operation)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (!_flow.TryGetProfile(Label(context), out _))
        {
            await RefuseAsync(context, operation, "anonymous", StatusCodes.Status404NotFound, $"no EST label '{PrintableText.Escape(Label(context) ?? "")}'");
            return;
        }

        // RFC 7030 §4.1.1 and §4.5.1: the server SHOULD NOT require client authentication for either; the TLS server is authenticated.
        if (operation == CaCerts)
        {
            await WriteBase64Async(context, StatusCodes.Status200OK, CertsOnlyType, _flow.CaCertsOnly);
        }
        else
        {
            await WriteBase64Async(context, StatusCodes.Status200OK, CsrAttrsType, _flow.EncodeCsrAttributes());
        }
    }

    // ---- /simpleenroll, /simplereenroll (§4.2), /serverkeygen (§4.4) --------------------------------------------------

    private async Task HandleEnrollAsync(HttpContext context, string operation)
    {
        HttpRequest request = context.Request;
        CancellationToken cancellationToken = context.RequestAborted;
        context.Response.Headers.CacheControl = "no-store";
        string requester = "anonymous";
        try
        {
            string? label = Label(context);
            if (!_flow.TryGetProfile(label, out CertificateProfile profile))
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status404NotFound, $"no EST label '{PrintableText.Escape(label ?? "")}'");
                return;
            }

            // Who asks, before a byte of the body is read.
            (Requester? client, Refusal? refusal) = await AdmitAsync(context, operation, profile, cancellationToken);
            if (client is null)
            {
                await RefuseAsync(context, operation, refusal!.Value.Name, refusal.Value.Status, refusal.Value.Text, refusal.Value.Challenge);
                return;
            }

            requester = client.Name;
            if (!IsMediaType(request.ContentType, Pkcs10Type))
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status415UnsupportedMediaType,
                    $"the request must be a base64 PKCS#10 CSR with Content-Type {Pkcs10Type} (RFC 7030 section 4.2.1), not {PrintableText.Escape(request.ContentType ?? "none")}");
                return;
            }

            if (request.ContentLength > s_maxBodyLength)
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status413PayloadTooLarge, $"a CSR may have at most {IssuanceRequest.MaxCsrLength} bytes");
                return;
            }

            byte[]? body = await ReadBodyAsync(request, s_maxBodyLength, cancellationToken);
            if (body is null)
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status413PayloadTooLarge, $"a CSR may have at most {IssuanceRequest.MaxCsrLength} bytes");
                return;
            }

            // RFC 8951 §3: base64 whatever Content-Transfer-Encoding says, white space tolerated (§3.1).
            byte[] der;
            try
            {
                der = Convert.FromBase64String(Encoding.ASCII.GetString(body));
            }
            catch (FormatException)
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status400BadRequest, "the body is not base64 (RFC 8951 section 3)");
                return;
            }

            if (der.Length > IssuanceRequest.MaxCsrLength)
            {
                await RefuseAsync(context, operation, requester, StatusCodes.Status413PayloadTooLarge, $"a CSR may have at most {IssuanceRequest.MaxCsrLength} bytes");
                return;
            }

            EnrollmentOperation kind = operation switch
            {
                SimpleEnroll => EnrollmentOperation.Enroll,
                SimpleReenroll => EnrollmentOperation.Reenroll,
                _ => EnrollmentOperation.ServerKeyGeneration,
            };
            EstEnrollResult result = await _flow.EnrollAsync(client, profile, kind, operation, der, cancellationToken);
            await AnswerAsync(context, operation, client, profile, result);
        }
        catch (BadHttpRequestException ex)
        {
            // Kestrel's own limits while reading the body (Http:MaxRequestBodySize, a client too slow, a truncated body).
            await RefuseAsync(context, operation, requester, ex.StatusCode, ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException && !context.Response.HasStarted && CaUnavailableException.From(ex) is { } unavailable)
        {
            // The CA's key or store is unreachable for now; nothing was signed or kept (RFC 9110 §15.6.4: 503 with Retry-After).
            EstLog.Unavailable(_logger, operation, requester, "503", unavailable.Message);
            context.Response.Headers.RetryAfter = unavailable.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            await WriteTextAsync(context, StatusCodes.Status503ServiceUnavailable, $"{unavailable.ClientReason}; retry later");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EstLog.Failed(_logger, ex, operation, requester);
            if (!context.Response.HasStarted)
            {
                await WriteTextAsync(context, StatusCodes.Status500InternalServerError, "internal error");
            }
        }
    }

    private async Task AnswerAsync(HttpContext context, string operation, Requester client, CertificateProfile profile, EstEnrollResult result)
    {
        switch (result.Status)
        {
            case EnrollmentStatus.Pending:
                // RFC 7030 §4.2.3: 202 with Retry-After; the client repeats the same request after that time.
                EstLog.PendingHttps(_logger, operation, client.Name, result.RequestId ?? 0, result.RetryAfterSeconds);
                context.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await WriteTextAsync(context, StatusCodes.Status202Accepted,
                    $"request {result.RequestId} is waiting for approval; retry after {result.RetryAfterSeconds} s");
                return;
            case EnrollmentStatus.Refused when result.Failure == EstFailure.ServiceUnavailable:
                // RFC 7030 §4.2.3 / RFC 9110 §10.2.3: 503 with Retry-After, repeated later; nothing of it was kept.
                context.Response.Headers.RetryAfter = result.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                await RefuseAsync(context, operation, client.Name, StatusCodes.Status503ServiceUnavailable, result.Detail!);
                return;
            case EnrollmentStatus.Refused:
                await RefuseAsync(context, operation, client.Name, result.Failure switch
                {
                    EstFailure.Forbidden => StatusCodes.Status403Forbidden,
                    EstFailure.NotFound => StatusCodes.Status404NotFound,
                    _ => StatusCodes.Status400BadRequest,
                }, result.Detail!);
                return;
        }

        IssuedCertificate issued = result.Certificate!;
        if (result.Repeated)
        {
            EstLog.IssuedAgain(_logger, operation, issued.SerialNumber, client.Name, profile.Name);
        }
        else
        {
            EstLog.Issued(_logger, operation, issued.SerialNumber, client.Name, profile.Name);
        }

        // RFC 7030 §4.2.3: a certs-only Simple PKI Response "containing only the certificate that was issued".
        byte[] certsOnly = Pkcs7CertsOnly.Encode(issued.Der);
        if (result.Key is not { } key)
        {
            await WriteBase64Async(context, StatusCodes.Status200OK, CertsOnlyType, certsOnly);
            return;
        }

        // RFC 7030 §4.4.2: multipart/mixed, the key part (PKCS#8, or the EnvelopedData when encrypted), then the certificate.
        string boundary = "est-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));
        byte[] multipart = Multipart(boundary, [(key.Encrypted ? ServerGeneratedKeyType : Pkcs8Type, key.Data), (CertsOnlyType, certsOnly)]);
        try
        {
            context.Response.StatusCode = StatusCodes.Status200OK;
            context.Response.ContentType = $"multipart/mixed; boundary={boundary}";
            context.Response.ContentLength = multipart.Length;
            await context.Response.Body.WriteAsync(multipart, context.RequestAborted);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(multipart);
            CryptographicOperations.ZeroMemory(key.Data);
        }
    }

    /// <summary>
    /// The requester, or why not: HTTP Basic credentials when the profile takes them and they are sent (or required), else the TLS
    /// client certificate, judged by the enrollment core. Unauthenticated attempts are logged, never stored.
    /// </summary>
    private async Task<(Requester? Client, Refusal? Refusal)> AdmitAsync(HttpContext context, string operation, CertificateProfile profile, CancellationToken cancellationToken)
    {
        EstBasicAuthentication basic = _basicModes.TryGetValue(profile.Name, out EstBasicAuthentication configured) ? configured : EstBasicAuthentication.Off;
        if (basic != EstBasicAuthentication.Off)
        {
            IPAddress address = context.Connection.RemoteIpAddress ?? IPAddress.None;
            if (context.Request.Headers.Authorization.Count > 0 && _basicFailures.RetryAfter(address) is { } wait)
            {
                // Refused before the password is checked: every check costs a PBKDF2, and guessing must not be cheap either.
                long seconds = Math.Max(1, (long)Math.Ceiling(wait.TotalSeconds));
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
                return (null, new Refusal(StatusCodes.Status429TooManyRequests, "anonymous",
                    $"too many wrong HTTP Basic passwords from this address; retry after {seconds} s", false));
            }

            switch (_basic.Verify(context.Request.Headers.Authorization, out string? user, out SharedSecretGrant? grant))
            {
                case EstBasicCredentials.Check.Valid:
                    // The address's failures stay: one device's valid password must not reset the count of guesses at others.
                    AuthenticationResult byPassword = await _flow.Enrollment.AuthenticateAsync(PeerIdentity.SharedSecret(FrontEnd, user!, grant!), cancellationToken);
                    return (byPassword.Requester, null);
                case EstBasicCredentials.Check.Malformed:
                    return (null, Challenge("anonymous", "the Authorization header holds no Basic user-id:password (RFC 7617 section 2)"));
                case EstBasicCredentials.Check.Wrong:
                    _basicFailures.Failed(address);
                    return (null, Challenge("anonymous", "wrong user name or password"));
                default:
                    if (basic == EstBasicAuthentication.Required)
                    {
                        return (null, Challenge("anonymous", $"profile '{profile.Name}' needs HTTP Basic authentication (RFC 7030 section 3.2.3)"));
                    }

                    break;
            }
        }

        // simplereenroll names what it asks for before its body is read: a certificate its own lost re-enrollment superseded may repeat it.
        AuthenticationResult authentication = await _flow.Enrollment.AuthenticateAsync(ReadPeer(context),
            operation == SimpleReenroll ? EnrollmentOperation.Reenroll : null, cancellationToken);
        if (authentication.Requester is { } client)
        {
            return (client, null);
        }

        bool offerBasic = basic == EstBasicAuthentication.Accepted;
        return authentication.Failure switch
        {
            // Only an HTTPS listener should carry EST (RFC 7030 §3.3); over plain HTTP nothing authenticates.
            AuthenticationFailure.NoSecureChannel => (null, new Refusal(StatusCodes.Status403Forbidden, "anonymous", "EST needs HTTPS (RFC 7030 section 3.3)", false)),

            // RFC 7030 §3.2.3: a server that takes HTTP authentication asks for it (401 with a challenge). Without a client certificate
            // and without HTTP authentication to offer, 401 would need a challenge this server would refuse: 403 with what is missing.
            AuthenticationFailure.NoCertificate => offerBasic
                ? (null, Challenge(authentication.Name, "a TLS client certificate or HTTP Basic credentials are needed (RFC 7030 section 3.2.3)"))
                : (null, new Refusal(StatusCodes.Status403Forbidden, authentication.Name,
                    "EST over HTTPS needs a TLS client certificate (RFC 7030 section 3.3.2); this profile takes no HTTP authentication", false)),
            _ => offerBasic
                ? (null, Challenge(authentication.Name, $"{authentication.Detail}; HTTP Basic credentials are accepted instead"))
                : (null, new Refusal(StatusCodes.Status403Forbidden, authentication.Name, authentication.Detail!, false)),
        };
    }

    // The one place EST over HTTPS reads who the peer is from the transport: the TLS connection the request arrived over.
    private static PeerIdentity ReadPeer(HttpContext context)
    {
        if (context.Features.Get<ISslStreamFeature>()?.SslStream is not { } tls)
        {
            return PeerIdentity.Anonymous(FrontEnd);
        }

        IReadOnlyList<X509Certificate2> chain = context.Features.Get<TlsPeerCertificatesFeature>()?.Certificates is { Count: > 0 } sent ? sent
            : context.Connection.ClientCertificate is { } leaf ? [leaf]
            : [];

        // tls-unique is the first Finished message, unique to the session only with the extended master secret (RFC 7627 §6.1).
        // .NET does not say whether the session negotiated it; OpenSSL, under SslStream here, always offers and accepts it, so a
        // TLS 1.2 session is taken to have it. A client that does not offer it is exposed to RFC 7627's triple handshake, and its
        // tls-unique link is then weaker than it looks: that is the limit of this check. TLS 1.3 has no tls-unique at all.
        ChannelBinding binding = TlsUniqueBinding.Read(tls) is { } unique
            ? ChannelBinding.TlsUnique(ChannelName, unique)
            : ChannelBinding.NotUnique("tls-unique", ChannelName, tls.SslProtocol == SslProtocols.Tls13
                ? "TLS 1.3 has no tls-unique channel binding (RFC 9266); send the CSR without challengePassword, or over TLS 1.2 with base64(tls-unique) in it"
                : $"{tls.SslProtocol} gives no tls-unique value");
        return PeerIdentity.SecureChannel(FrontEnd, chain, null, binding);
    }

    private Refusal Challenge(string name, string text) => new(StatusCodes.Status401Unauthorized, name, text, true);

    private async Task RefuseAsync(HttpContext context, string operation, string requester, int status, string reason, bool challenge = false)
    {
        EstLog.Refused(_logger, operation, status.ToString(System.Globalization.CultureInfo.InvariantCulture), requester, reason);
        if (challenge)
        {
            // RFC 7617 §2 and §2.1: the realm, and UTF-8 for the user-id and password.
            context.Response.Headers.WWWAuthenticate = $"Basic realm=\"{Options.BasicRealm}\", charset=\"UTF-8\"";
        }

        await WriteTextAsync(context, status, reason);
    }

    private static string? Label(HttpContext context) => context.Request.RouteValues.TryGetValue("label", out object? label) ? label as string : null;

    // RFC 7030 §4.2.3: without a content type the body is "a plaintext human-readable error message"; text/plain names it.
    private static Task WriteTextAsync(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        return context.Response.WriteAsync(text, context.RequestAborted);
    }

    private static async Task WriteBase64Async(HttpContext context, int status, string contentType, byte[] der)
    {
        byte[] body = Base64Lines(der);
        context.Response.StatusCode = status;
        context.Response.ContentType = contentType;

        // RFC 8951 §3: the body is base64 whatever this says; it is still sent for clients written to RFC 7030's text.
        context.Response.Headers["Content-Transfer-Encoding"] = "base64";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, context.RequestAborted);
    }

    /// <summary>
    /// base64 in lines of 64 characters, each ending in LF (RFC 8951 §3.1: readers tolerate white space, senders need none). LF rather
    /// than MIME's CRLF so that the common <c>curl ... | base64 -d</c> reads it as it is.
    /// </summary>
    private static byte[] Base64Lines(ReadOnlySpan<byte> der)
    {
        int encodedLength = Base64.GetMaxEncodedToUtf8Length(der.Length);
        byte[] encoded = new byte[encodedLength];
        Base64.EncodeToUtf8(der, encoded, out _, out int written);
        int lines = (written + 63) / 64;
        byte[] output = new byte[written + lines];
        int o = 0;
        for (int i = 0; i < written; i += 64)
        {
            int n = Math.Min(64, written - i);
            encoded.AsSpan(i, n).CopyTo(output.AsSpan(o));
            o += n;
            output[o++] = (byte)'\n';
        }

        CryptographicOperations.ZeroMemory(encoded);
        return output;
    }

    /// <summary>A multipart/mixed body (RFC 2046 §5.1.1) of base64 parts.</summary>
    private static byte[] Multipart(string boundary, IEnumerable<(string ContentType, byte[] Der)> parts)
    {
        using var body = new MemoryStream();
        foreach ((string contentType, byte[] der) in parts)
        {
            body.Write(Encoding.ASCII.GetBytes($"--{boundary}\r\nContent-Type: {contentType}\r\nContent-Transfer-Encoding: base64\r\n\r\n"));
            byte[] encoded = Base64Lines(der);
            body.Write(encoded);
            CryptographicOperations.ZeroMemory(encoded);
        }

        body.Write(Encoding.ASCII.GetBytes($"--{boundary}--\r\n"));
        byte[] result = body.ToArray();
        CryptographicOperations.ZeroMemory(body.GetBuffer());
        return result;
    }

    private static bool IsMediaType(string? contentType, string expected)
    {
        if (contentType is null)
        {
            return false;
        }

        int semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        ReadOnlySpan<char> media = (semicolon < 0 ? contentType : contentType[..semicolon]).AsSpan().Trim();
        return media.Equals(expected, StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>The body, or null when it is longer than <paramref name="limit"/>; read no further than that.</summary>
    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, int limit, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(request.ContentLength is { } length ? (int)length : 4096);
        byte[] chunk = new byte[8192];
        while (true)
        {
            int read = await request.Body.ReadAsync(chunk, cancellationToken);
            if (read == 0)
            {
                return buffer.ToArray();
            }

            if (buffer.Length + read > limit)
            {
                return null;
            }

            buffer.Write(chunk, 0, read);
        }
    }

    /// <summary>A refusal before the body: status, who it was for the log, the text, and whether to challenge for Basic.</summary>
    private readonly record struct Refusal(int Status, string Name, string Text, bool Challenge);
}
