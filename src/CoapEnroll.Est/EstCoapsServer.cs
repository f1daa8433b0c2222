using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Ca;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Pkix;
using CoapEnroll.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace CoapEnroll.Est;

/// <summary>
/// The EST-coaps server (RFC 9148): /crts, /sen, /sren, /att, /skg and /skc under each configured root and under
/// <c>root/{label}/</c> (the label names a CA profile, RFC 9148 §4.1). Every operation needs a client authenticated with a
/// certificate in the DTLS handshake (RFC 9148 §3 and §4); the chain is validated here against this CA and the trusted
/// manufacturer CAs, independent of the DTLS layer's own check.
/// </summary>
public sealed class EstCoapsServer
{
    private const string Crts = "crts";
    private const string Sen = "sen";
    private const string Sren = "sren";
    private const string Att = "att";
    private const string Skg = "skg";
    private const string Skc = "skc";

    private readonly CertificateAuthority _ca;
    private readonly CaHierarchy _hierarchy;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ServerKeyGenerator _keys;
    private readonly Dictionary<string, byte[]> _keyEncryptionKeys;
    private readonly byte[] _crtsCertsOnly;

    public EstCoapsServer(EstServerOptions options, CertificateAuthority ca, CaHierarchy hierarchy, ILogger<EstCoapsServer>? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(ca);
        ArgumentNullException.ThrowIfNull(hierarchy);
        if (options.Roots.Count == 0 || options.Roots.Any(r => string.IsNullOrWhiteSpace(r) || !r.StartsWith('/') || r.Contains('{')))
        {
            throw new ArgumentException("every EST root must be a literal absolute path such as /.well-known/est", nameof(options));
        }

        if (options.PendingRetryAfter < TimeSpan.FromSeconds(1) || options.PendingRetryAfter.TotalSeconds > uint.MaxValue)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "PendingRetryAfter must be at least one second");
        }

        Options = options;
        _ca = ca;
        _hierarchy = hierarchy;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _keys = new ServerKeyGenerator(options.KeyGenerationSecret);
        _keyEncryptionKeys = ParseKeyEncryptionKeys(options.KeyEncryptionKeys);

        // RFC 7030 §4.1.3: the current root and every certificate needed to chain an issued certificate to it.
        _crtsCertsOnly = Pkcs7CertsOnly.Encode(ca.CaCertificates);
    }

    public EstServerOptions Options { get; }

    /// <summary>
    /// DTLS server settings for EST-coaps on <paramref name="hierarchy"/>: the server certificate and chain, the trust anchor
    /// and manufacturer CAs as client trust anchors, the issuing CA and its intermediates as untrusted chain-building helpers
    /// (devices present only the leaf this CA issued), and unvalidated client certificates admitted to the CoAP layer so that
    /// EST can answer 4.03 with a reason instead of failing the handshake (authorization is decided by this server).
    /// </summary>
    public static DtlsServerOptions CreateDtlsServerOptions(CaHierarchy hierarchy)
    {
        ArgumentNullException.ThrowIfNull(hierarchy);
        var options = new DtlsServerOptions { Certificate = hierarchy.ServerCertificate, AllowUnvalidatedClientCertificates = true };
        foreach (X509Certificate2 certificate in hierarchy.ServerChain.Where(c => c.Thumbprint != hierarchy.ServerCertificate.Thumbprint && c.Thumbprint != hierarchy.TrustAnchor.Thumbprint))
        {
            options.CertificateChain.Add(certificate);
        }

        options.ClientCertificateTrustAnchors.Add(hierarchy.TrustAnchor);
        options.ClientCertificateTrustAnchors.AddRange(hierarchy.TrustedManufacturerCas.ToArray());

        // Public copies: the DTLS layer needs the issuing CA's certificate to build chains, never its key.
        foreach (X509Certificate2 ca in hierarchy.CaCertificates.Where(c => c.Thumbprint != hierarchy.TrustAnchor.Thumbprint))
        {
            options.ClientCertificateIntermediates.Add(X509CertificateLoader.LoadCertificate(ca.RawData));
        }

        return options;
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
                server.MapGet($"{prefix}/{Crts}", (c, ct) => HandleAsync(c, Crts, ct))
                    .WithResourceType("ace.est.crts").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert);
                server.MapPost($"{prefix}/{Sen}", (c, ct) => HandleAsync(c, Sen, ct))
                    .WithResourceType("ace.est.sen").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert);
                server.MapPost($"{prefix}/{Sren}", (c, ct) => HandleAsync(c, Sren, ct))
                    .WithResourceType("ace.est.sren").WithContentFormat(CoapContentFormat.Pkcs7CertsOnly, CoapContentFormat.PkixCert);
                if (Options.EnableCsrAttributes)
                {
                    server.MapGet($"{prefix}/{Att}", (c, ct) => HandleAsync(c, Att, ct))
                        .WithResourceType("ace.est.att").WithContentFormat(CoapContentFormat.CsrAttrs);
                }

                if (Options.EnableServerKeyGeneration)
                {
                    server.MapPost($"{prefix}/{Skg}", (c, ct) => HandleAsync(c, Skg, ct))
                        .WithResourceType("ace.est.skg").WithContentFormat(CoapContentFormat.MultipartCore);
                    server.MapPost($"{prefix}/{Skc}", (c, ct) => HandleAsync(c, Skc, ct))
                        .WithResourceType("ace.est.skc").WithContentFormat(CoapContentFormat.MultipartCore);
                }
            }

            EstLog.Mapped(_logger, root, Options.EnableCsrAttributes, Options.EnableServerKeyGeneration);
        }
    }

    private async ValueTask<CoapMessage> HandleAsync(CoapRequestContext context, string operation, CancellationToken cancellationToken)
    {
        string requester = "anonymous";
        try
        {
            // The label selects the profile (RFC 9148 §4.1); an unknown label is an unknown resource (§4.5: 4.04).
            string? label = context.RouteValues.TryGetValue("label", out string? l) ? l : null;
            if (!_ca.Profiles.TryGet(label, out CertificateProfile profile))
            {
                return Refuse(operation, requester, CoapCode.NotFound, $"no EST label '{label}'");
            }

            (ClientIdentity? client, CoapMessage? refusal) = await AuthenticateAsync(context, operation, cancellationToken);
            if (client is null)
            {
                return refusal!;
            }

            requester = client.Requester;
            return operation switch
            {
                Crts => HandleCrts(context.Request, client),
                Att => HandleAtt(context.Request, client),
                _ => await HandleEnrollAsync(context.Request, operation, client, profile, cancellationToken),
            };
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            EstLog.Failed(_logger, ex, operation, requester);
            return Diagnostic(CoapCode.InternalServerError, "internal error");
        }
    }

    // ---- /crts (RFC 7030 §4.1, RFC 9148 §4.1) ----------------------------------------------------------------------

    private CoapMessage HandleCrts(CoapMessage request, ClientIdentity client)
    {
        switch (request.Accept)
        {
            case null or CoapContentFormat.Pkcs7CertsOnly:
                return Content(CoapCode.Content, CoapContentFormat.Pkcs7CertsOnly, _crtsCertsOnly);
            case CoapContentFormat.PkixCert:
                // A single certificate (RFC 9148 §4.3): the trust anchor, the one certificate RFC 7030 §4.1.3 requires in every
                // /cacerts answer and the one the client installs as its Explicit TA. Intermediates need 281.
                return Content(CoapCode.Content, CoapContentFormat.PkixCert, _hierarchy.TrustAnchor.RawData);
            default:
                return Refuse(Crts, client.Requester, CoapCode.NotAcceptable, $"/crts answers 281 or 287, not {request.Accept}");
        }
    }

    // ---- /att (RFC 7030 §4.5, RFC 8951 §4) --------------------------------------------------------------------------

    private CoapMessage HandleAtt(CoapMessage request, ClientIdentity client)
    {
        if (request.Accept is { } accept && accept != CoapContentFormat.CsrAttrs)
        {
            return Refuse(Att, client.Requester, CoapCode.NotAcceptable, $"/att answers 285, not {accept}");
        }

        IReadOnlyList<EstCsrAttribute> items = Options.CsrAttributes ?? EstCsrAttributes.Default;
        if (Options.RequirePopLinking && !items.Any(i => i.Oid == EstOids.ChallengePassword))
        {
            // RFC 8951 §4: a server requiring POP linking MUST include the challengePassword OID.
            items = [new EstCsrAttribute(EstOids.ChallengePassword), .. items];
        }

        return Content(CoapCode.Content, CoapContentFormat.CsrAttrs, EstCsrAttributes.Encode(items));
    }

    // ---- /sen, /sren, /skg, /skc (RFC 7030 §4.2, §4.4; RFC 9148 §4.8) -----------------------------------------------

    private async Task<CoapMessage> HandleEnrollAsync(CoapMessage request, string operation, ClientIdentity client, CertificateProfile profile,
        CancellationToken cancellationToken)
    {
        bool keyGen = operation is Skg or Skc;
        if (request.ContentFormat != CoapContentFormat.Pkcs10)
        {
            return Refuse(operation, client.Requester, CoapCode.UnsupportedContentFormat,
                $"the request must be a PKCS#10 CSR, Content-Format 286 (got {request.ContentFormat?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "none"})");
        }

        int? accept = request.Accept;
        bool acceptable = keyGen
            ? accept is null or CoapContentFormat.MultipartCore
            : accept is null or CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.PkixCert;
        if (!acceptable)
        {
            return Refuse(operation, client.Requester, CoapCode.NotAcceptable, keyGen ? $"/{operation} answers 62, not {accept}" : $"/{operation} answers 281 or 287, not {accept}");
        }

        if (request.Payload.Length > IssuanceRequest.MaxCsrLength)
        {
            return Refuse(operation, client.Requester, CoapCode.RequestEntityTooLarge, $"CSR longer than {IssuanceRequest.MaxCsrLength} bytes");
        }

        // From here on the client is authenticated and its CSR is in hand: every refusal is recorded in the CA store as a rejected
        // request (who asked, over which protocol, the CSR, why) before it is answered. The checks above and the refusals of
        // unauthenticated clients (AuthenticateAsync, which says why) are only logged.
        string? renewing = operation == Sren && client.IsCurrentCertificateOfThisCa ? client.Leaf.SerialNumber : null;
        Task<CoapMessage> RefuseRecordedAsync(RejectionReason reason, CoapCode code, string text) =>
            RecordAndRefuseAsync(operation, client, profile, request.Payload, renewing, reason, code, text, cancellationToken);

        // RFC 9148 §4.8: for server-side key generation the CSR's public key and signature are ignored.
        EstCsr? csr = EstCsr.TryParse(request.Payload, verifySignature: !keyGen, out string? problem, out RejectionReason malformed);
        if (csr is null)
        {
            return await RefuseRecordedAsync(malformed, CoapCode.BadRequest, problem!);
        }

        // Linking identity and POP (RFC 7030 §3.5, RFC 9148 §3): challengePassword = base64(tls-unique) of this session. Without the
        // extended master secret a man in the middle can give two sessions the same tls-unique (RFC 7627 §6.1): it links nothing.
        if (!client.Session.IsExtendedMasterSecretNegotiated && (csr.ChallengePassword is not null || Options.RequirePopLinking))
        {
            return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden,
                "linking of identity and POP information needs a DTLS session with extended_master_secret: without it tls-unique is not unique to the session (RFC 7627 section 6.1)");
        }

        if (csr.ChallengePassword is null)
        {
            if (Options.RequirePopLinking)
            {
                return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden,
                    "linking of identity and POP information is required: put base64(tls-unique) in challengePassword (RFC 7030 section 3.5)");
            }
        }
        else
        {
            byte[] expected = Encoding.ASCII.GetBytes(Convert.ToBase64String(client.Session.TlsUnique));
            byte[] actual = Encoding.UTF8.GetBytes(csr.ChallengePassword);
            if (!CryptographicOperations.FixedTimeEquals(expected, actual))
            {
                return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden,
                    "the challengePassword does not match the tls-unique value of this DTLS session (RFC 7030 section 3.5)");
            }
        }

        string? replaces = null;
        if (operation == Sren)
        {
            // RFC 7030 §4.2.2: re-enrollment by the holder of a current certificate of this CA, same subject and SAN.
            if (!client.IsCurrentCertificateOfThisCa)
            {
                return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden, "re-enrollment needs a current certificate issued by this CA");
            }

            if (!csr.Subject.RawData.AsSpan().SequenceEqual(client.Leaf.SubjectName.RawData))
            {
                return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden, "the CSR subject differs from the certificate being renewed (RFC 7030 section 4.2.2)");
            }

            byte[]? currentSan = client.Leaf.Extensions[EstOids.SubjectAltName]?.RawData;
            if (!(csr.SubjectAltName ?? []).AsSpan().SequenceEqual(currentSan ?? []) || (csr.SubjectAltName is null) != (currentSan is null))
            {
                return await RefuseRecordedAsync(RejectionReason.NotAuthorized, CoapCode.Forbidden, "the CSR subjectAltName differs from the certificate being renewed (RFC 7030 section 4.2.2)");
            }

            replaces = client.Leaf.SerialNumber;
        }

        // Server-side key generation with an encrypted key (RFC 7030 §4.4.1.1, §4.4.1.2): settle the recipient before issuing.
        X509Certificate2? recipient = null;
        byte[]? kek = null;
        if (keyGen)
        {
            if (csr.DecryptKeyIdentifier is { } symmetricId)
            {
                if (csr.AsymmetricDecryptKeyIdentifier is not null)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, "the CSR names both a DecryptKeyIdentifier and an AsymmetricDecryptKeyIdentifier");
                }

                if (!csr.HasSmimeCapabilities)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, "a DecryptKeyIdentifier needs an SMIMECapabilities attribute (RFC 7030 section 4.4.1)");
                }

                if (!_keyEncryptionKeys.TryGetValue(Convert.ToHexString(symmetricId), out kek))
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, "no symmetric key matches the DecryptKeyIdentifier (RFC 7030 section 4.4.1.1)");
                }

                try
                {
                    _ = ServerGeneratedKeyEnvelope.ChooseForKeyEncryptionKey(kek.Length, csr.SmimeCapabilities);
                }
                catch (ArgumentException ex)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, ex.Message);
                }
            }

            if (csr.AsymmetricDecryptKeyIdentifier is { } keyId)
            {
                if (!csr.HasSmimeCapabilities)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, "an AsymmetricDecryptKeyIdentifier needs an SMIMECapabilities attribute (RFC 7030 section 4.4.1)");
                }

                recipient = await FindRecipientAsync(keyId, client, cancellationToken);
                if (recipient is null)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, "no certificate matches the AsymmetricDecryptKeyIdentifier (RFC 7030 section 4.4.1.2)");
                }

                try
                {
                    // A trial run on an empty key checks the key type, key usage and the offered algorithms.
                    _ = ServerGeneratedKeyEnvelope.Protect([0x30, 0x00], recipient, KeyGenerationSigner(), [], csr.SmimeCapabilities);
                }
                catch (ArgumentException ex)
                {
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest, ex.Message);
                }
                catch (CryptographicException)
                {
                    // A key the platform cannot encrypt to, e.g. an RSA key too short for OAEP with the offered hash.
                    return await RefuseRecordedAsync(RejectionReason.UnsatisfiableRequest, CoapCode.BadRequest,
                        "the recipient certificate's key cannot carry the generated key with the offered algorithms (too short or unsupported)");
                }
            }
        }

        // Retransmissions and repeats after 5.03 carry the same CSR over the same identity: the same key never issues twice.
        string requestKey = IssuanceRequest.ComputeRequestKey(request.Payload.Span, $"{client.Requester}|{operation}|{profile.Name}");
        using ECDsa? generated = keyGen ? _keys.Generate(requestKey) : null;
        IssuanceResult result = await _ca.IssueAsync(new IssuanceRequest
        {
            CsrDer = request.Payload.ToArray(),
            Requester = client.Requester,
            Protocol = Options.Protocol,
            ProfileName = profile.Name,
            RequestKey = requestKey,
            ReplacesSerialNumber = replaces,
            OverridePublicKey = generated is null ? null : new PublicKey(generated),
        }, cancellationToken);

        switch (result.Status)
        {
            case IssuanceStatus.Pending:
                // RFC 9148 §4.7: 5.03 with Max-Age; the client resends the identical request after that time.
                uint maxAge = (uint)Math.Ceiling(Options.PendingRetryAfter.TotalSeconds);
                EstLog.Pending(_logger, operation, client.Requester, result.RequestId ?? 0, maxAge);
                return new CoapMessage { Code = CoapCode.ServiceUnavailable }
                    .SetUInt(CoapOptionNumber.MaxAge, maxAge)
                    .WithPayload($"request {result.RequestId} is waiting for approval; retry after {maxAge} s");
            case IssuanceStatus.Rejected:
                return Refuse(operation, client.Requester, CodeFor(result.Reason), result.Detail ?? result.Reason.ToString());
        }

        X509Certificate2 issued = result.Certificate!;
        EstLog.Issued(_logger, operation, issued.SerialNumber, client.Requester, profile.Name, result.Repeated);
        if (!keyGen)
        {
            // RFC 7030 §4.2.3: a certs-only response "containing only the certificate that was issued"; 287 is the bare certificate.
            return accept == CoapContentFormat.PkixCert
                ? Content(CoapCode.Changed, CoapContentFormat.PkixCert, issued.RawData)
                : Content(CoapCode.Changed, CoapContentFormat.Pkcs7CertsOnly, Pkcs7CertsOnly.Encode([issued]));
        }

        // RFC 9148 §4.3 and §4.8: [284 or 280, key, 281 or 287, certificate].
        byte[] pkcs8 = generated!.ExportPkcs8PrivateKey();
        try
        {
            MultipartCorePart keyPart =
                recipient is not null ? new MultipartCorePart(CoapContentFormat.Pkcs7ServerGeneratedKey,
                    ServerGeneratedKeyEnvelope.Protect(pkcs8, recipient, KeyGenerationSigner(), KeyGenerationSignerIntermediates(), csr.SmimeCapabilities))
                : kek is not null ? new MultipartCorePart(CoapContentFormat.Pkcs7ServerGeneratedKey,
                    ServerGeneratedKeyEnvelope.Protect(pkcs8, csr.DecryptKeyIdentifier, kek, KeyGenerationSigner(), KeyGenerationSignerIntermediates(), csr.SmimeCapabilities))
                : new MultipartCorePart(CoapContentFormat.Pkcs8, pkcs8);
            MultipartCorePart certificatePart = operation == Skg
                ? new MultipartCorePart(CoapContentFormat.Pkcs7CertsOnly, Pkcs7CertsOnly.Encode([issued]))
                : new MultipartCorePart(CoapContentFormat.PkixCert, issued.RawData);
            return Content(CoapCode.Changed, CoapContentFormat.MultipartCore, MultipartCore.Encode([keyPart, certificatePart]));
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
    }

    // Fails at startup, naming the entry, rather than at the first request that needs the key.
    private static Dictionary<string, byte[]> ParseKeyEncryptionKeys(IDictionary<string, string> configured)
    {
        var keys = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach ((string id, string value) in configured)
        {
            byte[] keyId;
            byte[] key;
            try
            {
                keyId = Convert.FromHexString(id);
                key = Convert.FromBase64String(value);
            }
            catch (FormatException)
            {
                throw new ArgumentException($"Est:KeyEncryptionKeys:{id}: the name must be the key identifier in hex and the value the key in base64");
            }

            if (keyId.Length == 0 || key.Length is not (16 or 24 or 32))
            {
                throw new ArgumentException($"Est:KeyEncryptionKeys:{id}: an AES key-encryption key has 16, 24 or 32 octets, not {key.Length}, and a non-empty identifier");
            }

            keys[Convert.ToHexString(keyId)] = key;
        }

        return keys;
    }

    private IEnumerable<X509Certificate2> KeyGenerationSignerIntermediates() =>
        Options.KeyGenerationSigner is { HasPrivateKey: true } ? Options.KeyGenerationSignerIntermediates
        : _hierarchy.ServerChain.Where(c => c.Thumbprint != _hierarchy.ServerCertificate.Thumbprint && c.Thumbprint != _hierarchy.TrustAnchor.Thumbprint);

    private X509Certificate2 KeyGenerationSigner() =>
        Options.KeyGenerationSigner is { HasPrivateKey: true } signer ? signer
        : _hierarchy.ServerCertificate.HasPrivateKey ? _hierarchy.ServerCertificate
        : throw new InvalidOperationException("no certificate with a private key to sign encrypted server-generated keys (EstServerOptions.KeyGenerationSigner)");

    // The recipient named by AsymmetricDecryptKeyIdentifier (matched against the subject key identifier): the client's own DTLS
    // certificates, then the active certificates this CA issued with the client's subject, then the host's resolver.
    private async Task<X509Certificate2?> FindRecipientAsync(byte[] keyId, ClientIdentity client, CancellationToken cancellationToken)
    {
        IEnumerable<X509Certificate2> candidates = client.Session.PeerCertificates?.Cast<X509Certificate2>().Take(1) ?? [];
        IReadOnlyList<StoredCertificate> issued = await _ca.Store.FindCertificatesBySubjectAsync(client.Leaf.Subject, 50, cancellationToken);
        DateTimeOffset now = _time.GetUtcNow();
        candidates = candidates.Concat(issued.Where(c => c.Status == CertificateStatus.Active && c.NotBefore <= now && now < c.NotAfter).Select(c => c.ToCertificate()));
        foreach (X509Certificate2 candidate in candidates)
        {
            if (candidate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault() is { } ski
                && ski.SubjectKeyIdentifierBytes.Span.SequenceEqual(keyId))
            {
                return candidate;
            }
        }

        return Options.RecipientCertificateResolver is { } resolve ? await resolve(keyId, cancellationToken) : null;
    }

    // ---- authentication (RFC 9148 §3: a client certificate in the DTLS handshake, for every operation) ----------------

    // The refusals here (4.01 anonymous, 4.03 untrusted or no longer active) are logged, never stored as requests: anyone can
    // complete a DTLS handshake with a self-signed certificate, so writing a row per attempt would let unauthenticated peers fill
    // the CA's disk. Only requests of authenticated clients reach the store (HandleEnrollAsync).

    private async Task<(ClientIdentity? Client, CoapMessage? Refusal)> AuthenticateAsync(CoapRequestContext context, string operation, CancellationToken cancellationToken)
    {
        if (context.SecureSession is not { IsEstablished: true } session)
        {
            return (null, Refuse(operation, "anonymous", CoapCode.Unauthorized, "EST-coaps needs a DTLS session with a client certificate (RFC 9148 section 3)"));
        }

        if (session.PeerCertificates is not { Count: > 0 } presented)
        {
            return (null, Refuse(operation, "anonymous", CoapCode.Unauthorized, "EST-coaps needs a client certificate in the DTLS handshake (RFC 9148 section 3)"));
        }

        X509Certificate2 leaf = presented[0];
        string requester = RequesterOf(leaf);
        DateTimeOffset now = _time.GetUtcNow();

        // Issued by this CA: the chain ends at our trust anchor through the issuing CA, and the store knows the certificate as active.
        if (ChainsTo(presented, [_hierarchy.TrustAnchor], [_hierarchy.IssuingCa, .. _hierarchy.Intermediates], now, ignoreTime: false, out X509Certificate2? issuer)
            && issuer?.Thumbprint == _hierarchy.IssuingCa.Thumbprint)
        {
            StoredCertificate? stored = await _ca.Store.GetCertificateAsync(leaf.SerialNumber, cancellationToken);
            if (stored is { Status: CertificateStatus.Active } && stored.Der.AsSpan().SequenceEqual(leaf.RawData))
            {
                return (new ClientIdentity(session, leaf, requester, IsCurrentCertificateOfThisCa: true), null);
            }

            return (null, Refuse(operation, requester, CoapCode.Forbidden, "the client certificate is not an active certificate of this CA (revoked or superseded)"));
        }

        if (_hierarchy.TrustedManufacturerCas.Count > 0
            && ChainsTo(presented, _hierarchy.TrustedManufacturerCas, [], now, ignoreTime: Options.AcceptExpiredManufacturerCertificates, out _))
        {
            return (new ClientIdentity(session, leaf, requester, IsCurrentCertificateOfThisCa: false), null);
        }

        return (null, Refuse(operation, requester, CoapCode.Forbidden, "the client certificate does not chain to this CA or a trusted manufacturer CA"));
    }

    private static bool ChainsTo(X509Certificate2Collection presented, IEnumerable<X509Certificate2> anchors, IEnumerable<X509Certificate2> extra,
        DateTimeOffset now, bool ignoreTime, out X509Certificate2? issuer)
    {
        issuer = null;
        if (!new CertificateChainBuilder(anchors) { IgnoreTimeValidity = ignoreTime }.TryBuild(presented[0], [.. extra, .. presented.Skip(1)], now, out var path)
            || path.Count < 2)
        {
            return false;
        }

        issuer = path[1];
        return true;
    }

    // Stable across sessions, so a device retrying after 5.03 in a new DTLS session is the same requester.
    private static string RequesterOf(X509Certificate2 leaf)
    {
        string subject = leaf.Subject.Length > 300 ? leaf.Subject[..300] : leaf.Subject;
        return $"{subject} sha256:{leaf.GetCertHashString(HashAlgorithmName.SHA256)}";
    }

    // Every reason is listed, so a new one is placed here on purpose; unnamed values fall back to 4.00.
    private static CoapCode CodeFor(RejectionReason reason) => reason switch
    {
        RejectionReason.SubjectNotAllowed or RejectionReason.SubjectAltNameNotAllowed or RejectionReason.RejectedByOperator
            or RejectionReason.NotAuthorized => CoapCode.Forbidden,
        RejectionReason.UnknownProfile => CoapCode.NotFound,
        RejectionReason.None or RejectionReason.MalformedRequest or RejectionReason.BadSignature or RejectionReason.UnsupportedKeyType
            or RejectionReason.KeyTooWeak or RejectionReason.KeyNotAllowed or RejectionReason.RequestKeyConflict or RejectionReason.InvalidParameter
            or RejectionReason.UnsatisfiableRequest => CoapCode.BadRequest,
        _ => CoapCode.BadRequest,
    };

    // Records the refusal of an authenticated client's request in the CA store (as the issuance would have stored it: requester,
    // protocol, profile, CSR as received, the certificate being renewed; the operation prefixes the stored reason), then answers it.
    private async Task<CoapMessage> RecordAndRefuseAsync(string operation, ClientIdentity client, CertificateProfile profile, ReadOnlyMemory<byte> csr,
        string? renewing, RejectionReason reason, CoapCode code, string text, CancellationToken cancellationToken)
    {
        await _ca.RecordRefusalAsync(new IssuanceRequest
        {
            CsrDer = csr,
            Requester = client.Requester,
            Protocol = Options.Protocol,
            ProfileName = profile.Name,
            ReplacesSerialNumber = renewing,
        }, reason, $"/{operation}: {text}", cancellationToken);
        return Refuse(operation, client.Requester, code, text);
    }

    private CoapMessage Refuse(string operation, string requester, CoapCode code, string reason)
    {
        EstLog.Refused(_logger, operation, code.ToString(), requester, reason);
        return Diagnostic(code, reason);
    }

    // RFC 7252 §5.5.2: a diagnostic payload is UTF-8 text without a Content-Format.
    private static CoapMessage Diagnostic(CoapCode code, string text) => new CoapMessage { Code = code }.WithPayload(text);

    private static CoapMessage Content(CoapCode code, int contentFormat, byte[] payload) =>
        new CoapMessage { Code = code }.WithContentFormat(contentFormat).WithPayload(payload);

    private sealed record ClientIdentity(ISecureSession Session, X509Certificate2 Leaf, string Requester, bool IsCurrentCertificateOfThisCa);
}
