using System.Net;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Enrollment;
using CoapEnroll.Est.Upstream;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Est;

/// <summary>
/// The EST-coaps server (RFC 9148): /crts, /sen, /sren, /att, /skg and /skc under each configured root and under
/// <c>root/{label}/</c> (the label names a CA profile, RFC 9148 §4.1). It routes, negotiates content formats and maps the
/// <see cref="EnrollmentService"/>'s decisions to CoAP codes, payloads and diagnostics: who may enroll, re-enroll or have a key
/// generated, and what is issued, held or refused, is decided there. Every operation but /crts needs a client authenticated with
/// a certificate in the DTLS handshake (RFC 9148 §3 and §4); /crts answers any established DTLS session, also one without a client
/// certificate (RFC 7030 §4.1.1), unless the profile requires one (<see cref="EstServerOptions.RequireClientCertificateForCrts"/>).
/// </summary>
public sealed partial class EstCoapsServer
{
    private const string Crts = "crts";
    private const string Sen = "sen";
    private const string Sren = "sren";
    private const string Att = "att";
    private const string Skg = "skg";
    private const string Skc = "skc";

    /// <summary>The channel name in the diagnostics that name the channel binding ("... of this DTLS session").</summary>
    private const string ChannelName = "DTLS";

    /// <summary>The <see cref="CoapRequestContext.Items"/> key of the requester the authorization check established.</summary>
    private static readonly object s_authenticatedRequesterKey = new();

    private readonly EnrollmentService _enrollment;
    private readonly ILogger _logger;
    private readonly EstEnrollmentFlow _flow;
    private readonly EstHttpsClient? _upstream;
    private readonly PeerConcurrencyLimiter? _upstreamLimiter;
    private readonly HashSet<string> _crtsNeedClientCertificate = new(StringComparer.Ordinal);

    /// <summary>An EST-coaps server with an enrollment service of its own, configured from <paramref name="options"/>.</summary>
    public EstCoapsServer(EstServerOptions options, CertificateAuthority ca, CaHierarchy hierarchy, ILogger<EstCoapsServer>? logger = null, TimeProvider? timeProvider = null)
        : this(Validated(options), new EnrollmentService(ca, hierarchy, CreateEnrollmentOptions(options), null, timeProvider), logger, timeProvider)
    {
    }

    /// <summary>An EST-coaps server in front of the host's <paramref name="enrollment"/> service.</summary>
    public EstCoapsServer(EstServerOptions options, EnrollmentService enrollment, ILogger<EstCoapsServer>? logger = null, TimeProvider? timeProvider = null)
        : this(options, enrollment, null, logger, timeProvider)
    {
    }

    /// <summary>
    /// An EST-coaps registrar (RFC 9148 §5): devices authenticate and are authorized with <paramref name="enrollment"/>'s trust and
    /// names, and their requests go to the EST server over HTTPS that <paramref name="upstream"/> reaches, instead of this CA; when
    /// <paramref name="upstream"/> is null, a server of this CA.
    /// </summary>
    /// <remarks>
    /// <c>upstreamLimiter</c> bounds the requests in flight upstream per device and in total (past them 4.29 or 5.03 with Max-Age);
    /// null: 2 per device, 64 in total.
    /// </remarks>
    public EstCoapsServer(EstServerOptions options, EnrollmentService enrollment, EstHttpsClient? upstream, ILogger<EstCoapsServer>? logger = null,
        TimeProvider? timeProvider = null, PeerConcurrencyLimiter? upstreamLimiter = null)
    {
        _upstream = upstream;
        _upstreamLimiter = upstream is null ? null : upstreamLimiter ?? new PeerConcurrencyLimiter(64, 2);
        ArgumentNullException.ThrowIfNull(enrollment);
        Options = Validated(options);
        _enrollment = enrollment;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _flow = new EstEnrollmentFlow(Options, enrollment, timeProvider ?? TimeProvider.System);
        foreach ((string profile, string value) in Options.RequireClientCertificateForCrts)
        {
            if (!enrollment.Authority.Profiles.All.Any(p => p.Name == profile))
            {
                throw new ArgumentException($"Est:RequireClientCertificateForCrts:{profile}: no such profile (profiles: {string.Join(", ", enrollment.Authority.Profiles.All.Select(p => p.Name))})");
            }

            if (!bool.TryParse(value, out bool required))
            {
                throw new ArgumentException($"Est:RequireClientCertificateForCrts:{profile}: '{value}' is not true or false");
            }

            if (required)
            {
                _crtsNeedClientCertificate.Add(profile);
            }
        }
    }

    public EstServerOptions Options { get; }

    /// <summary>The enrollment policy settings that <paramref name="options"/> carries (linking, expired IDevIDs, key generation, retry time).</summary>
    public static EnrollmentOptions CreateEnrollmentOptions(EstServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new EnrollmentOptions
        {
            RequireProofOfPossessionLinking = options.RequirePopLinking,
            AcceptExpiredManufacturerCertificates = options.AcceptExpiredManufacturerCertificates,
            PendingRetryAfter = options.PendingRetryAfter,
            KeyGenerationSecret = options.KeyGenerationSecret,
        };
    }

    /// <summary>Maps the resources on <paramref name="server"/> with the discovery attributes of RFC 9148 §4.1.</summary>
    public void Map(CoapServer server)
    {
        ArgumentNullException.ThrowIfNull(server);
        foreach (string configured in Options.Roots)
        {
            string root = "/" + configured.Trim('/');
            foreach (string prefix in (string[])[root, root + "/{label}"])
            {
                // Each operation decides who may ask before a body arrives (RequireAuthorization), so that one that cannot succeed
                // is refused at its first Block1 block; the handler then finds the requester the check established. All but /crts
                // authenticate a certificate and go to the store (synchronous under its async API) or sign: they start on the thread
                // pool, never on a receive thread that serves every other peer. /crts answers from the cache, inline.
                server.MapGet($"{prefix}/{Crts}", (c, ct) => HandleAsync(c, Crts, ct))
                    .WithResourceType("ace.est.crts").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert)
                    .RequireAuthorization((c, ct) => AuthorizeAsync(c, Crts, ct));
                server.MapPost($"{prefix}/{Sen}", (c, ct) => HandleAsync(c, Sen, ct))
                    .WithResourceType("ace.est.sen").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert)
                    .RequireAuthorization((c, ct) => AuthorizeAsync(c, Sen, ct)).RunOnThreadPool();
                server.MapPost($"{prefix}/{Sren}", (c, ct) => HandleAsync(c, Sren, ct))
                    .WithResourceType("ace.est.sren").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert)
                    .RequireAuthorization((c, ct) => AuthorizeAsync(c, Sren, ct)).RunOnThreadPool();
                if (Options.EnableCsrAttributes)
                {
                    server.MapGet($"{prefix}/{Att}", (c, ct) => HandleAsync(c, Att, ct))
                        .WithResourceType("ace.est.att").WithContentFormat(CoapContentFormat.CsrAttrs)
                        .RequireAuthorization((c, ct) => AuthorizeAsync(c, Att, ct)).RunOnThreadPool();
                }

                if (Options.EnableServerKeyGeneration)
                {
                    server.MapPost($"{prefix}/{Skg}", (c, ct) => HandleAsync(c, Skg, ct))
                        .WithResourceType("ace.est.skg").WithContentFormat(CoapContentFormat.MultipartCore)
                        .RequireAuthorization((c, ct) => AuthorizeAsync(c, Skg, ct)).RunOnThreadPool();
                    server.MapPost($"{prefix}/{Skc}", (c, ct) => HandleAsync(c, Skc, ct))
                        .WithResourceType("ace.est.skc").WithContentFormat(CoapContentFormat.MultipartCore)
                        .RequireAuthorization((c, ct) => AuthorizeAsync(c, Skc, ct)).RunOnThreadPool();
                }
            }

            EstLog.Mapped(_logger, root, Options.EnableCsrAttributes, Options.EnableServerKeyGeneration);
        }
    }

    /// <summary>
    /// The check before the body (see <see cref="CoapResource.RequireAuthorization"/>): the label names a profile, and the peer
    /// is a requester that <paramref name="operation"/> admits. Refuses with the same code and diagnostic the handler would;
    /// on success leaves the requester in the context for the handler.
    /// </summary>
    private async ValueTask<CoapMessage?> AuthorizeAsync(CoapRequestContext context, string operation, CancellationToken cancellationToken)
    {
        try
        {
            Admission admission = await AdmitAsync(context, operation, cancellationToken);
            if (admission is { Refusal: null, Client: { } client })
            {
                context.Items[s_authenticatedRequesterKey] = client;
            }

            return admission.Refusal;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed(ex, operation, "anonymous");
        }
    }

    private async ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, string operation, CancellationToken cancellationToken)
    {
        string requester = "anonymous";
        try
        {
            Admission admission = await AdmitAsync(context, operation, cancellationToken);
            if (admission.Refusal is { } refusal)
            {
                return refusal;
            }

            requester = admission.Name;
            if (operation == Crts)
            {
                // The one operation an anonymous session reaches (AdmitAsync): it has no requester, only a name for the log.
                return _upstream is not null
                    ? await ForwardCrtsAsync(context, requester, cancellationToken)
                    : HandleCrts(context.Request, requester);
            }

            // Past /crts every admission carries an authenticated requester: AdmitAsync admits no one else.
            if (admission is not { Client: { } client, Profile: { } profile })
            {
                throw new InvalidOperationException($"/{operation} admitted without an authenticated requester");
            }

            if (_upstream is not null)
            {
                return await ForwardAsync(context, operation, client, profile, cancellationToken);
            }

            return operation switch
            {
                Att => HandleAtt(context.Request, client),
                _ => await HandleEnrollAsync(context.Request, operation, client, profile, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            return Failed(ex, operation, requester);
        }
    }

    /// <summary>The answer to an exception: 5.03 with Max-Age for an outage of the CA's key or store, else 5.00.</summary>
    private CoapMessage Failed(Exception exception, string operation, string requester)
    {
        if (CaUnavailableException.From(exception) is { } unavailable)
        {
            // The CA's key or store is unreachable for now and nothing was signed or kept: the client repeats the request after
            // Max-Age, as after a 5.03 for a pending request (RFC 9148 §4.7).
            EstLog.Unavailable(_logger, operation, requester, CoapCode.ServiceUnavailable.ToString(), unavailable.Message);
            return Diagnostic(CoapCode.ServiceUnavailable, $"{unavailable.ClientReason}; retry later")
                .SetUInt(CoapOptionNumber.MaxAge, unavailable.RetryAfterSeconds);
        }

        EstLog.Failed(_logger, exception, operation, requester);
        return Diagnostic(CoapCode.InternalServerError, "internal error");
    }

    /// <summary>
    /// The profile the label names and the requester the peer authenticates as, or the refusal. The requester the authorization
    /// check established for this request is taken as it is; the last block of a longer Block1 transfer authenticates again.
    /// </summary>
    private async ValueTask<Admission> AdmitAsync(CoapRequestContext context, string operation, CancellationToken cancellationToken)
    {
        // The label selects the profile (RFC 9148 §4.1); an unknown label is an unknown resource (§4.5: 4.04).
        string? label = context.RouteValues.TryGetValue("label", out string? l) ? l : null;
        if (!_flow.TryGetProfile(label, out CertificateProfile profile)
            && !(_upstream is not null && EstHttpsClient.IsLabel(label) && _flow.TryGetProfile(null, out profile)))
        {
            // A registrar passes labels on (the upstream CA knows its own); names are bound under the local profile of that
            // label, or the default one.
            return new Admission(Refuse(operation, "anonymous", CoapCode.NotFound, $"no EST label '{label}'"), null, null, "anonymous");
        }

        if (context.Items.TryGetValue(s_authenticatedRequesterKey, out object? checkedBefore) && checkedBefore is Requester known)
        {
            return new Admission(null, known, profile, known.Name);
        }

        // RFC 9148 §3: a client certificate in the DTLS handshake, for every operation but /crts (below). These refusals are logged, never stored:
        // anyone can complete a handshake with a self-signed certificate (see EnrollmentService.AuthenticateAsync).
        if (context.SecureSession?.PeerCertificates is { Count: > 0 })
        {
            // Judging a certificate builds its path and may read the store: not on the thread that received the request (for
            // /crts, the one operation that starts there).
            await context.ContinueOnThreadPoolAsync();
        }

        // /sren names what it asks for before its body arrives: a certificate its own lost re-enrollment superseded may repeat it.
        AuthenticationResult authentication = await _enrollment.AuthenticateAsync(ReadPeer(context.SecureSession, Options.Protocol),
            operation == Sren ? EnrollmentOperation.Reenroll : null, cancellationToken);
        if (authentication.Requester is { } client)
        {
            return new Admission(null, client, profile, client.Name);
        }

        // RFC 7030 §4.1.1: the CA certificates go to any peer of an established DTLS session, which authenticated this server; a
        // client certificate that does not authenticate the peer (none, or one this CA does not trust) changes nothing about that.
        // Over plain CoAP nothing is authenticated at all, not even this server: refused like every operation.
        if (operation == Crts && authentication.Failure != AuthenticationFailure.NoSecureChannel && !_crtsNeedClientCertificate.Contains(profile.Name))
        {
            return new Admission(null, null, profile, authentication.Name);
        }

        CoapMessage refusal = authentication.Failure switch
        {
            AuthenticationFailure.NoSecureChannel => Refuse(operation, authentication.Name, CoapCode.Unauthorized,
                "EST-coaps needs a DTLS session with a client certificate (RFC 9148 section 3)"),
            AuthenticationFailure.NoCertificate => Refuse(operation, authentication.Name, CoapCode.Unauthorized, operation == Crts
                ? $"profile '{profile.Name}' gives its CA certificates only to a client certificate in the DTLS handshake"
                : "EST-coaps needs a client certificate in the DTLS handshake (RFC 9148 section 3)"),
            _ => Refuse(operation, authentication.Name, CoapCode.Forbidden, authentication.Detail!),
        };
        return new Admission(refusal, null, null, authentication.Name);
    }

    // ---- /crts (RFC 7030 §4.1, RFC 9148 §4.1) ----------------------------------------------------------------------

    private CoapMessage HandleCrts(CoapMessage request, string requester)
    {
        switch (request.Accept)
        {
            case null or CoapContentFormat.Pkcs7CertsOnly:
                return Content(CoapCode.Content, CoapContentFormat.Pkcs7CertsOnly, _flow.CaCertsOnly);
            case CoapContentFormat.PkixCert:
                // A single certificate (RFC 9148 §4.3): the trust anchor, the one certificate RFC 7030 §4.1.3 requires in every
                // /cacerts answer and the one the client installs as its Explicit TA. Intermediates need 281.
                return Content(CoapCode.Content, CoapContentFormat.PkixCert, _enrollment.Hierarchy.TrustAnchor.RawData);
            default:
                return Refuse(Crts, requester, CoapCode.NotAcceptable, $"/crts answers 281 or 287, not {request.Accept}");
        }
    }

    // ---- /att (RFC 7030 §4.5, RFC 8951 §4) --------------------------------------------------------------------------

    private CoapMessage HandleAtt(CoapMessage request, Requester client)
    {
        if (request.Accept is { } accept && accept != CoapContentFormat.CsrAttrs)
        {
            return Refuse(Att, client.Name, CoapCode.NotAcceptable, $"/att answers 285, not {accept}");
        }

        return Content(CoapCode.Content, CoapContentFormat.CsrAttrs, _flow.EncodeCsrAttributes());
    }

    // ---- /sen, /sren, /skg, /skc (RFC 7030 §4.2, §4.4; RFC 9148 §4.8) -----------------------------------------------

    private async Task<CoapMessage> HandleEnrollAsync(CoapMessage request, string operation, Requester client, CertificateProfile profile,
        CancellationToken cancellationToken)
    {
        bool keyGen = operation is Skg or Skc;
        if (request.ContentFormat != CoapContentFormat.Pkcs10)
        {
            return Refuse(operation, client.Name, CoapCode.UnsupportedContentFormat,
                $"the request must be a PKCS#10 CSR, Content-Format 286 (got {request.ContentFormat?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})");
        }

        int? accept = request.Accept;
        bool acceptable = keyGen
            ? accept is null or CoapContentFormat.MultipartCore
            : accept is null or CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.PkixCert;
        if (!acceptable)
        {
            return Refuse(operation, client.Name, CoapCode.NotAcceptable, keyGen ? $"/{operation} answers 62, not {accept}" : $"/{operation} answers 281 or 287, not {accept}");
        }

        if (request.Payload.Length > IssuanceRequest.MaxCsrLength)
        {
            return Refuse(operation, client.Name, CoapCode.RequestEntityTooLarge, $"CSR longer than {IssuanceRequest.MaxCsrLength} bytes");
        }

        // From here on the client is authenticated and its CSR is in hand: every refusal is recorded in the CA store as a rejected
        // request (who asked, over which protocol, the CSR, why) before it is answered. The checks above are only logged.
        EnrollmentOperation kind = operation switch { Sen => EnrollmentOperation.Enroll, Sren => EnrollmentOperation.Reenroll, _ => EnrollmentOperation.ServerKeyGeneration };
        EstEnrollResult result = await _flow.EnrollAsync(client, profile, kind, operation, request.Payload, cancellationToken);
        switch (result.Status)
        {
            case EnrollmentStatus.Pending:
                // RFC 9148 §4.7: 5.03 with Max-Age; the client resends the identical request after that time.
                uint maxAge = result.RetryAfterSeconds;
                EstLog.Pending(_logger, operation, client.Name, result.RequestId ?? 0, maxAge);
                return new CoapMessage { Code = CoapCode.ServiceUnavailable }
                    .SetUInt(CoapOptionNumber.MaxAge, maxAge)
                    .WithPayload($"request {result.RequestId} is waiting for approval; retry after {maxAge} s");
            case EnrollmentStatus.Refused when result.Failure == EstFailure.ServiceUnavailable:
                // As for a pending request (RFC 9148 §4.7), the client repeats it after Max-Age; nothing of it was kept.
                return Refuse(operation, client.Name, CoapCode.ServiceUnavailable, result.Detail!).SetUInt(CoapOptionNumber.MaxAge, result.RetryAfterSeconds);
            case EnrollmentStatus.Refused:
                return Refuse(operation, client.Name, CodeFor(result.Failure), result.Detail!);
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
        if (!keyGen)
        {
            // RFC 7030 §4.2.3: a certs-only response "containing only the certificate that was issued"; 287 is the bare certificate.
            return accept == CoapContentFormat.PkixCert
                ? Content(CoapCode.Changed, CoapContentFormat.PkixCert, issued.Der)
                : Content(CoapCode.Changed, CoapContentFormat.Pkcs7CertsOnly, Pkcs7CertsOnly.Encode(issued.Der));
        }

        // RFC 9148 §4.3 and §4.8: [284 or 280, key, 281 or 287, certificate].
        EstServerGeneratedKey key = result.Key!.Value;
        try
        {
            var keyPart = new MultipartCorePart(key.Encrypted ? CoapContentFormat.Pkcs7ServerGeneratedKey : CoapContentFormat.Pkcs8, key.Data);
            MultipartCorePart certificatePart = operation == Skg
                ? new MultipartCorePart(CoapContentFormat.Pkcs7CertsOnly, Pkcs7CertsOnly.Encode(issued.Der))
                : new MultipartCorePart(CoapContentFormat.PkixCert, issued.Der);
            return Content(CoapCode.Changed, CoapContentFormat.MultipartCore, MultipartCore.Encode([keyPart, certificatePart]));
        }
        finally
        {
            System.Security.Cryptography.CryptographicOperations.ZeroMemory(key.Data);
        }
    }

    // The one place EST reads who the peer is from the transport: the secure session (DTLS) the request arrived over.
    private static PeerIdentity ReadPeer(ISecureSession? session, string frontEnd)
    {
        if (session is not { IsEstablished: true })
        {
            return PeerIdentity.Anonymous(frontEnd);
        }

        // tls-unique identifies the session only with the extended master secret (RFC 7627 §6.1); without it the session throws.
        ChannelBinding binding = ChannelBinding.NonUniqueTlsUnique(ChannelName);
        if (session.IsExtendedMasterSecretNegotiated)
        {
            try
            {
                binding = ChannelBinding.TlsUnique(ChannelName, session.TlsUnique);
            }
            catch (InvalidOperationException)
            {
                // No first Finished to bind to: nothing can be linked to this session.
            }
        }

        return PeerIdentity.SecureChannel(frontEnd, session.PeerCertificates is { } certificates ? [.. certificates] : [], session.PskIdentity, binding);
    }

    private static CoapCode CodeFor(EstFailure failure) => failure switch
    {
        EstFailure.Forbidden => CoapCode.Forbidden,
        EstFailure.NotFound => CoapCode.NotFound,
        _ => CoapCode.BadRequest,
    };

    private CoapMessage Refuse(string operation, string requester, CoapCode code, string reason)
    {
        EstLog.Refused(_logger, operation, code.ToString(), requester, reason);
        return Diagnostic(code, reason);
    }

    // RFC 7252 §5.5.2: a diagnostic payload is UTF-8 text without a Content-Format.
    private static CoapMessage Diagnostic(CoapCode code, string text) => new CoapMessage { Code = code }.WithPayload(text);

    private static CoapMessage Content(CoapCode code, int contentFormat, byte[] payload) =>
        new CoapMessage { Code = code }.WithContentFormat(contentFormat).WithPayload(payload);

    private static EstServerOptions Validated(EstServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Roots.Count == 0 || options.Roots.Any(r => string.IsNullOrWhiteSpace(r) || !r.StartsWith('/') || r.Contains('{')))
        {
            throw new ArgumentException("every EST root must be a literal absolute path such as /.well-known/est", nameof(options));
        }

        if (options.PendingRetryAfter < TimeSpan.FromSeconds(1) || options.PendingRetryAfter.TotalSeconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "PendingRetryAfter must be at least one second");
        }

        return options;
    }

    /// <summary>
    /// Who asks and under which profile, or why not. <paramref name="Client"/> is null on an admission only for /crts over a session
    /// that authenticated no requester; <paramref name="Name"/> names the peer in the log either way.
    /// </summary>
    private readonly record struct Admission(CoapMessage? Refusal, Requester? Client, CertificateProfile? Profile, string Name);
}
