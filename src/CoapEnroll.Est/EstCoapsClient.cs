using System.Formats.Asn1;
using System.Globalization;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Pkix;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using CertificateRequest = System.Security.Cryptography.X509Certificates.CertificateRequest;

namespace CoapEnroll.Est;

/// <summary>
/// An EST-coaps client (RFC 9148) over one DTLS session: CA certificates, (re-)enrollment, CSR attributes and server-side key
/// generation. Requests are CON; block-wise transfer is done by the CoAP layer; a 5.03 with Max-Age is waited out and the
/// identical request resent (RFC 9148 §4.7) within <see cref="EstClientOptions.MaxPendingWait"/>.
/// </summary>
public sealed class EstCoapsClient : IAsyncDisposable
{
    private readonly DtlsClientChannel _channel;
    private readonly CoapClient _coap;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, string> _discovered = new(StringComparer.Ordinal);
    private X509Certificate2Collection _explicitTrustAnchors = [];
    private bool _discoveryDone;

    /// <summary>A client on <paramref name="channel"/> (connected with a client certificate), which it owns and disposes.</summary>
    public EstCoapsClient(DtlsClientChannel channel, EstClientOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        Options = options ?? new EstClientOptions();
        if (!BusyJitter.IsValid(Options.BusyJitter))
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.BusyJitter, "BusyJitter must be between 0 and 1");
        }

        _channel = channel;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)loggerFactory?.CreateLogger<EstCoapsClient>() ?? NullLogger.Instance;
        _coap = new CoapClient(channel, Options.Coap, loggerFactory, timeProvider);
    }

    public EstClientOptions Options { get; }

    /// <summary>The DTLS session (server identity, tls-unique).</summary>
    public DtlsSessionEndPoint Session => _channel.RemoteEndPoint;

    /// <summary>The EST resources found by <see cref="DiscoverAsync"/>, by resource type (for example <c>ace.est.sen</c> → path).</summary>
    public IReadOnlyDictionary<string, string> DiscoveredResources => _discovered;

    /// <summary>
    /// <c>GET /.well-known/core?rt=ace.est*</c> (RFC 9148 §4.1): records the path of each EST resource type. A server may offer
    /// EST under several roots; of those, the resource under <see cref="EstClientOptions.Root"/> is taken, else the first listed.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, string>> DiscoverAsync(CancellationToken cancellationToken)
    {
        CoapMessage response = await _coap.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/.well-known/core").WithUriQuery("rt=ace.est*"),
            Session, cancellationToken);
        if (response.Code != CoapCode.Content)
        {
            throw new EstRequestException(response.Code, response.PayloadText);
        }

        if (!CoapLinkFormat.TryParse(response.PayloadText, out IReadOnlyList<CoapResourceDescription>? links, out string? error))
        {
            throw new InvalidDataException("discovery answer is not link-format: " + error);
        }

        string preferredRoot = "/" + Options.Root.Trim('/');
        _discovered.Clear();
        foreach (CoapResourceDescription link in links)
        {
            foreach (string rt in link.ResourceTypes.Where(t => t.StartsWith("ace.est.", StringComparison.Ordinal)))
            {
                if (!_discovered.TryGetValue(rt, out string? known) || (ParentOf(known) != preferredRoot && ParentOf(link.Path) == preferredRoot))
                {
                    _discovered[rt] = link.Path;
                }
            }
        }

        _discoveryDone = true;
        EstLog.Discovered(_logger, _discovered.Count);
        return _discovered;
    }

    /// <summary>/crts (RFC 7030 §4.1): the CA certificates; with 287 the single certificate the server returns. Remembered as the Explicit TA database.</summary>
    public async Task<X509Certificate2Collection> GetCaCertificatesAsync(EstCertificateFormat format = EstCertificateFormat.CertsOnly, CancellationToken cancellationToken = default)
    {
        CoapMessage response = await SendAsync("crts", CoapCode.Get, (int)format, null, CoapCode.Content, cancellationToken);
        X509Certificate2Collection certificates = ReadCertificates(response, (int)format);
        _explicitTrustAnchors = certificates;
        return certificates;
    }

    /// <summary>/att (RFC 7030 §4.5, RFC 8951 §4).</summary>
    public async Task<IReadOnlyList<EstCsrAttribute>> GetCsrAttributesAsync(CancellationToken cancellationToken = default)
    {
        CoapMessage response = await SendAsync("att", CoapCode.Get, CoapContentFormat.CsrAttrs, null, CoapCode.Content, cancellationToken);
        ExpectFormat(response, CoapContentFormat.CsrAttrs);
        try
        {
            return EstCsrAttributes.Decode(response.Payload);
        }
        catch (AsnContentException ex)
        {
            throw new InvalidDataException("malformed CSR attributes: " + ex.Message, ex);
        }
    }

    /// <summary>/sen (RFC 7030 §4.2.1) with a ready CSR; returns the issued certificate.</summary>
    public Task<X509Certificate2> EnrollAsync(ReadOnlyMemory<byte> csrDer, EstCertificateFormat format = EstCertificateFormat.CertsOnly, CancellationToken cancellationToken = default) =>
        EnrollCoreAsync("sen", csrDer, format, cancellationToken);

    /// <summary>/sren (RFC 7030 §4.2.2) with a ready CSR; returns the issued certificate.</summary>
    public Task<X509Certificate2> ReenrollAsync(ReadOnlyMemory<byte> csrDer, EstCertificateFormat format = EstCertificateFormat.CertsOnly, CancellationToken cancellationToken = default) =>
        EnrollCoreAsync("sren", csrDer, format, cancellationToken);

    /// <summary>
    /// /sen with a CSR built here for <paramref name="key"/> (a new P-256 key when null), POP-linked per
    /// <see cref="EstClientOptions.LinkProofOfPossession"/>; returns the certificate with the private key attached.
    /// </summary>
    public Task<X509Certificate2> EnrollAsync(X500DistinguishedName subject, ECDsa? key = null, EstCertificateFormat format = EstCertificateFormat.CertsOnly,
        Action<CertificateRequest>? configure = null, CancellationToken cancellationToken = default) =>
        EnrollWithKeyAsync("sen", subject, key, format, configure, cancellationToken);

    /// <summary>/sren with a CSR built here (see <see cref="EnrollAsync(X500DistinguishedName, ECDsa?, EstCertificateFormat, Action{CertificateRequest}?, CancellationToken)"/>).</summary>
    public Task<X509Certificate2> ReenrollAsync(X500DistinguishedName subject, ECDsa? key = null, EstCertificateFormat format = EstCertificateFormat.CertsOnly,
        Action<CertificateRequest>? configure = null, CancellationToken cancellationToken = default) =>
        EnrollWithKeyAsync("sren", subject, key, format, configure, cancellationToken);

    /// <summary>
    /// /skg (<paramref name="singleCertificate"/> false: certificate as 281) or /skc (true: 287) with a ready CSR (RFC 9148 §4.8).
    /// <paramref name="decryptionCertificate"/>, with its RSA or EC private key, opens a 280 (CMS-encrypted) key.
    /// </summary>
    public Task<EstServerKeyGenResult> ServerKeyGenAsync(ReadOnlyMemory<byte> csrDer, bool singleCertificate = false, X509Certificate2? decryptionCertificate = null,
        CancellationToken cancellationToken = default) =>
        ServerKeyGenCoreAsync(csrDer, singleCertificate, decryptionCertificate, null, cancellationToken);

    /// <summary>/skg or /skc with a ready CSR whose key is to come back encrypted under <paramref name="symmetricKey"/> (280, KEKRecipientInfo).</summary>
    public Task<EstServerKeyGenResult> ServerKeyGenAsync(ReadOnlyMemory<byte> csrDer, EstSymmetricKey symmetricKey, bool singleCertificate = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(symmetricKey);
        return ServerKeyGenCoreAsync(csrDer, singleCertificate, null, symmetricKey, cancellationToken);
    }

    /// <summary>
    /// /skg or /skc for <paramref name="subject"/> with the key encrypted under <paramref name="symmetricKey"/>: the CSR carries
    /// DecryptKeyIdentifier and SMIMECapabilities with the matching AES key wrap and AES-256-CBC (RFC 7030 §4.4.1.1).
    /// </summary>
    public Task<EstServerKeyGenResult> ServerKeyGenAsync(X500DistinguishedName subject, EstSymmetricKey symmetricKey, bool singleCertificate = false,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(symmetricKey);
        string wrap = CmsKeyEncryptionKey.WrapFor(symmetricKey.Key.Length);
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = CreateCsr(subject, throwaway, request =>
        {
            request.OtherRequestAttributes.Add(new AsnEncodedData(EstOids.SmimeCapabilities, SmimeCapabilities(wrap, EstOids.Aes256Cbc)));
            var writer = new AsnWriter(AsnEncodingRules.DER);
            writer.WriteOctetString(symmetricKey.Identifier.Span);
            request.OtherRequestAttributes.Add(new AsnEncodedData(EstOids.DecryptKeyIdentifier, writer.Encode()));
        });
        return ServerKeyGenCoreAsync(csr, singleCertificate, null, symmetricKey, cancellationToken);
    }

    private async Task<EstServerKeyGenResult> ServerKeyGenCoreAsync(ReadOnlyMemory<byte> csrDer, bool singleCertificate, X509Certificate2? decryptionCertificate,
        EstSymmetricKey? symmetricKey, CancellationToken cancellationToken)
    {
        string operation = singleCertificate ? "skc" : "skg";
        CoapMessage response = await SendAsync(operation, CoapCode.Post, CoapContentFormat.MultipartCore, csrDer, CoapCode.Changed, cancellationToken);
        ExpectFormat(response, CoapContentFormat.MultipartCore);
        if (!MultipartCore.TryDecode(response.Payload, out IReadOnlyList<MultipartCorePart> parts, out string? error))
        {
            throw new InvalidDataException("malformed multipart-core: " + error);
        }

        // The two representations may come in either order (RFC 9148 §4.8).
        MultipartCorePart? keyPart = parts.Where(p => p.ContentFormat is CoapContentFormat.Pkcs8 or CoapContentFormat.Pkcs7ServerGeneratedKey).Cast<MultipartCorePart?>().SingleOrDefault();
        MultipartCorePart? certificatePart = parts.Where(p => p.ContentFormat is CoapContentFormat.Pkcs7CertsOnly or CoapContentFormat.PkixCert).Cast<MultipartCorePart?>().SingleOrDefault();
        if (parts.Count != 2 || keyPart is null || certificatePart is null)
        {
            throw new InvalidDataException("the server-side key generation answer must have one key part (284 or 280) and one certificate part (281 or 287)");
        }

        byte[] pkcs8;
        bool encrypted = keyPart.Value.ContentFormat == CoapContentFormat.Pkcs7ServerGeneratedKey;
        if (encrypted)
        {
            if (decryptionCertificate is null && symmetricKey is null)
            {
                throw new InvalidOperationException("the server sent an encrypted key (280) but no decryption certificate and key were given");
            }

            X509Certificate2Collection anchors = Options.TrustAnchors.Count > 0 ? Options.TrustAnchors : _explicitTrustAnchors;
            if (anchors.Count == 0)
            {
                throw new InvalidOperationException("verifying the key generator's signature needs trust anchors: set EstClientOptions.TrustAnchors or call GetCaCertificatesAsync first");
            }

            X509Certificate2[] signers = [.. Session.PeerCertificates?.Cast<X509Certificate2>().Take(1) ?? [], .. Options.KeyGeneratorCertificates];
            if (symmetricKey is not null)
            {
                pkcs8 = ServerGeneratedKeyEnvelope.Open(keyPart.Value.Data.Span, symmetricKey.Identifier.Span, symmetricKey.Key.Span, anchors.Where(IsSelfSigned), anchors,
                    signers, _time.GetUtcNow());
            }
            else
            {
                using AsymmetricAlgorithm decryptionKey = PrivateKeyOf(decryptionCertificate!);
                pkcs8 = ServerGeneratedKeyEnvelope.Open(keyPart.Value.Data.Span, decryptionKey, decryptionCertificate!, anchors.Where(IsSelfSigned), anchors, signers,
                    _time.GetUtcNow());
            }
        }
        else if (decryptionCertificate is not null || symmetricKey is not null || AsksForEncryptedKey(csrDer))
        {
            // The CSR asked for an encrypted key; a server answering in the clear has ignored that (RFC 7030 §4.4.2).
            throw new InvalidDataException("an encrypted key (280) was asked for but the server sent it unencrypted (284)");
        }
        else
        {
            pkcs8 = keyPart.Value.Data.ToArray();
        }

        X509Certificate2 certificate = ReadSingleCertificate(certificatePart.Value.Data, certificatePart.Value.ContentFormat);
        using ECDsa key = ECDsa.Create();
        try
        {
            key.ImportPkcs8PrivateKey(pkcs8, out int read);
            if (read != pkcs8.Length)
            {
                throw new InvalidDataException("data follows the PKCS#8 key");
            }
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException("the server-generated key is not a PKCS#8 EC private key: " + ex.Message, ex);
        }

        if (!certificate.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
        {
            throw new InvalidDataException("the certificate does not certify the key the server generated");
        }

        return new EstServerKeyGenResult
        {
            Certificate = CertificateKeys.AttachPrivateKey(certificate, key),
            Pkcs8PrivateKey = pkcs8,
            KeyWasEncrypted = encrypted,
            CertificateContentFormat = certificatePart.Value.ContentFormat,
        };
    }

    /// <summary>
    /// /skg or /skc for <paramref name="subject"/>: the CSR is signed with a throwaway key (the server ignores it, RFC 7030
    /// §4.4.1). With <paramref name="encryptionCertificate"/> (a certificate with its private key: RSA for key transport, EC for
    /// key agreement) the CSR asks for the key encrypted to it (SMIMECapabilities and AsymmetricDecryptKeyIdentifier = its subject
    /// key identifier, RFC 7030 §4.4.1.2).
    /// </summary>
    public Task<EstServerKeyGenResult> ServerKeyGenAsync(X500DistinguishedName subject, bool singleCertificate = false, X509Certificate2? encryptionCertificate = null,
        CancellationToken cancellationToken = default)
    {
        using ECDsa throwaway = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = CreateCsr(subject, throwaway, request =>
        {
            if (encryptionCertificate is not null)
            {
                AddEncryptionRequest(request, encryptionCertificate);
            }
        });
        return ServerKeyGenAsync(csr, singleCertificate, encryptionCertificate, cancellationToken);
    }

    /// <summary>
    /// Adds to <paramref name="request"/> the attributes asking for a server-generated key encrypted to
    /// <paramref name="encryptionCertificate"/> (RFC 7030 §4.4.1.2): its subject key identifier as AsymmetricDecryptKeyIdentifier,
    /// and SMIMECapabilities offering RSAES-OAEP (RSA) or ECDH with the X9.63 KDF and AES-256 key wrap (EC, RFC 5753), with AES-256-CBC.
    /// </summary>
    public static void AddEncryptionRequest(CertificateRequest request, X509Certificate2 encryptionCertificate)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(encryptionCertificate);
        byte[] keyId = encryptionCertificate.Extensions.OfType<X509SubjectKeyIdentifierExtension>().FirstOrDefault()?.SubjectKeyIdentifierBytes.ToArray()
            ?? throw new ArgumentException("the encryption certificate has no subject key identifier", nameof(encryptionCertificate));
        // RFC 4055 §4.1: OAEP with SHA-256 must say so (absent parameters mean SHA-1); RFC 5753 §5: the scheme names its key wrap.
        SmimeCapability[] capabilities = encryptionCertificate.GetKeyAlgorithm() switch
        {
            EstOids.RsaEncryption => [new SmimeCapability(EstOids.RsaesOaep, ServerGeneratedKeyEnvelope.OaepSha256Parameters()), EstOids.Aes256Cbc],
            EstOids.EcPublicKey => [new SmimeCapability(KeyAgreementFor(encryptionCertificate), CmsKeyAgreement.SchemeParameters(EstOids.Aes256Wrap)), EstOids.Aes256Wrap,
                EstOids.Aes256Cbc],
            string other => throw new ArgumentException($"the encryption certificate's key ({other}) is neither RSA nor elliptic-curve", nameof(encryptionCertificate)),
        };
        request.OtherRequestAttributes.Add(new AsnEncodedData(EstOids.SmimeCapabilities, SmimeCapabilities(capabilities)));
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteOctetString(keyId);
        request.OtherRequestAttributes.Add(new AsnEncodedData(EstOids.AsymmetricDecryptKeyIdentifier, writer.Encode()));
    }

    // The KDF hash matching the curve strength (RFC 5753 §8).
    private static string KeyAgreementFor(X509Certificate2 certificate)
    {
        using ECDiffieHellman key = certificate.PublicKey.GetECDiffieHellmanPublicKey()
            ?? throw new ArgumentException("the encryption certificate has no usable elliptic-curve key", nameof(certificate));
        return key.KeySize switch
        {
            <= 256 => EstOids.EcdhStdSha256Kdf,
            <= 384 => EstOids.EcdhStdSha384Kdf,
            _ => EstOids.EcdhStdSha512Kdf,
        };
    }

    private static AsymmetricAlgorithm PrivateKeyOf(X509Certificate2 certificate) =>
        (AsymmetricAlgorithm?)certificate.GetRSAPrivateKey()
        ?? (AsymmetricAlgorithm?)certificate.GetECDiffieHellmanPrivateKey()
        ?? certificate.GetECDsaPrivateKey()
        ?? throw new ArgumentException("the decryption certificate has no RSA or EC private key", nameof(certificate));

    /// <summary>
    /// A PKCS#10 request (RFC 2986) signed by <paramref name="key"/> with SHA-256; with POP linking on, challengePassword is
    /// base64(tls-unique) of the current session (RFC 7030 §3.5).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// POP linking is on but the session did not negotiate the extended master secret, so its tls-unique does not identify it
    /// (RFC 7627 §5.4): turn linking off for such a server.
    /// </exception>
    public byte[] CreateCsr(X500DistinguishedName subject, ECDsa key, Action<CertificateRequest>? configure = null, bool? linkProofOfPossession = null)
    {
        ArgumentNullException.ThrowIfNull(subject);
        ArgumentNullException.ThrowIfNull(key);
        var request = new CertificateRequest(subject, key, key.KeySize > 256 ? HashAlgorithmName.SHA384 : HashAlgorithmName.SHA256);
        if (linkProofOfPossession ?? Options.LinkProofOfPossession)
        {
            if (!Session.IsExtendedMasterSecretNegotiated)
            {
                throw new InvalidOperationException(
                    "Cannot link proof-of-possession to this DTLS session: it did not negotiate extended_master_secret, so its tls-unique does not identify it (RFC 7627 section 5.4).");
            }

            request.OtherRequestAttributes.Add(ChallengePassword(Convert.ToBase64String(Session.TlsUnique)));
        }

        configure?.Invoke(request);
        return request.CreateSigningRequest();
    }

    /// <summary>A challengePassword attribute value (PrintableString, which holds every base64 character).</summary>
    public static AsnEncodedData ChallengePassword(string value)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        writer.WriteCharacterString(UniversalTagNumber.PrintableString, value);
        return new AsnEncodedData(EstOids.ChallengePassword, writer.Encode());
    }

    public ValueTask DisposeAsync() => _coap.DisposeAsync();

    private async Task<X509Certificate2> EnrollWithKeyAsync(string operation, X500DistinguishedName subject, ECDsa? key, EstCertificateFormat format,
        Action<CertificateRequest>? configure, CancellationToken cancellationToken)
    {
        ECDsa ownedKey = key ?? ECDsa.Create(ECCurve.NamedCurves.nistP256);
        try
        {
            byte[] csr = CreateCsr(subject, ownedKey, configure);
            X509Certificate2 issued = await EnrollCoreAsync(operation, csr, format, cancellationToken);
            if (!issued.PublicKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(ownedKey.ExportSubjectPublicKeyInfo()))
            {
                throw new InvalidDataException("the issued certificate does not certify the requested key");
            }

            return CertificateKeys.AttachPrivateKey(issued, ownedKey);
        }
        finally
        {
            if (key is null)
            {
                ownedKey.Dispose();
            }
        }
    }

    private async Task<X509Certificate2> EnrollCoreAsync(string operation, ReadOnlyMemory<byte> csrDer, EstCertificateFormat format, CancellationToken cancellationToken)
    {
        CoapMessage response = await SendAsync(operation, CoapCode.Post, (int)format, csrDer, CoapCode.Changed, cancellationToken);
        return ReadSingleCertificate(response.Payload, response.ContentFormat ?? -1, (int)format);
    }

    private async Task<CoapMessage> SendAsync(string operation, CoapCode method, int accept, ReadOnlyMemory<byte>? csr, CoapCode success, CancellationToken cancellationToken)
    {
        if (Options.UseDiscovery && !_discoveryDone)
        {
            await DiscoverAsync(cancellationToken);
        }

        string path = PathOf(operation);
        long started = _time.GetTimestamp();
        while (true)
        {
            // Built anew each time: a resend after 5.03 is a new exchange with the identical CSR (RFC 9148 §4.7).
            CoapMessage request = CoapMessage.CreateRequest(method, path).WithAccept(accept);
            if (csr is { } body)
            {
                request = request.WithContentFormat(CoapContentFormat.Pkcs10).WithPayload(body);
            }

            CoapMessage response = await _coap.SendAsync(request, Session, cancellationToken);
            // 5.03: the request is pending, or the server is busy; 4.29 (RFC 8516): too many of this client's (or its address's)
            // requests are in progress. Both ask the client to come back after Max-Age.
            if (response.Code == CoapCode.ServiceUnavailable || response.Code == CoapCode.TooManyRequests)
            {
                // No Max-Age means the default of 60 s (RFC 7252 §5.10.5); Max-Age 0 would make a tight loop, so at least a second.
                uint maxAge = response.MaxAge ?? 60;
                TimeSpan delay = TimeSpan.FromSeconds(Math.Max(maxAge, 1));
                TimeSpan left = Options.MaxPendingWait - _time.GetElapsedTime(started);
                if (delay > left)
                {
                    throw new EstRequestException(response.Code, response.PayloadText, maxAge);
                }

                // Clients refused together would otherwise all come back together.
                delay = BusyJitter.Apply(delay, Options.BusyJitter, left);
                EstLog.Waiting(_logger, operation, delay);
                await Task.Delay(delay, _time, cancellationToken);
                continue;
            }

            if (response.Code != success)
            {
                throw new EstRequestException(response.Code, response.PayloadText);
            }

            return response;
        }
    }

    /// <summary>The root of a discovered resource path: everything before its last segment.</summary>
    private static string ParentOf(string path) => path[..Math.Max(0, path.LastIndexOf('/'))];

    private string PathOf(string operation)
    {
        string root = Options.Root;
        if (_discoveryDone)
        {
            if (!_discovered.TryGetValue("ace.est." + operation, out string? found))
            {
                throw new EstRequestException($"the server does not announce ace.est.{operation} in discovery");
            }

            root = ParentOf(found);
        }

        string label = string.IsNullOrEmpty(Options.Label) ? "" : "/" + Options.Label;
        return $"/{root.Trim('/')}{label}/{operation}";
    }

    private static X509Certificate2 ReadSingleCertificate(ReadOnlyMemory<byte> payload, int contentFormat, int? expected = null)
    {
        if (expected is { } e && contentFormat != e)
        {
            throw new InvalidDataException($"expected Content-Format {e}, got {contentFormat}");
        }

        X509Certificate2Collection certificates = ReadCertificates(payload, contentFormat);
        if (certificates.Count != 1)
        {
            throw new InvalidDataException($"expected only the issued certificate (RFC 7030 section 4.2.3), got {certificates.Count}");
        }

        return certificates[0];
    }

    private static X509Certificate2Collection ReadCertificates(CoapMessage response, int expected)
    {
        ExpectFormat(response, expected);
        return ReadCertificates(response.Payload, expected);
    }

    private static X509Certificate2Collection ReadCertificates(ReadOnlyMemory<byte> payload, int contentFormat)
    {
        try
        {
            if (contentFormat == CoapContentFormat.Pkcs7CertsOnly)
            {
                return Pkcs7CertsOnly.Decode(payload.Span);
            }

            if (contentFormat == CoapContentFormat.PkixCert)
            {
                X509Certificate2 certificate = X509CertificateLoader.LoadCertificate(payload.Span);
                if (certificate.RawData.Length != payload.Length)
                {
                    throw new CryptographicException("data follows the certificate");
                }

                return [certificate];
            }
        }
        catch (CryptographicException ex)
        {
            throw new InvalidDataException($"malformed certificate payload ({contentFormat}): {ex.Message}", ex);
        }

        throw new InvalidDataException($"unexpected certificate Content-Format {contentFormat}");
    }

    private static void ExpectFormat(CoapMessage response, int expected)
    {
        if (response.ContentFormat != expected)
        {
            throw new InvalidDataException($"expected Content-Format {expected}, got {response.ContentFormat?.ToString(CultureInfo.InvariantCulture) ?? "none"}");
        }
    }

    private static bool IsSelfSigned(X509Certificate2 certificate) => certificate.SubjectName.RawData.AsSpan().SequenceEqual(certificate.IssuerName.RawData);

    private static byte[] SmimeCapabilities(params SmimeCapability[] capabilities)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            foreach (SmimeCapability capability in capabilities)
            {
                using (writer.PushSequence())
                {
                    writer.WriteObjectIdentifier(capability.Oid);
                    if (capability.HasParameters)
                    {
                        writer.WriteEncodedValue(capability.Parameters.Span);
                    }
                }
            }
        }

        return writer.Encode();
    }

    // A ready CSR that names a key to encrypt to must not be answered in the clear.
    private static bool AsksForEncryptedKey(ReadOnlyMemory<byte> csrDer) =>
        EstCsr.TryParse(csrDer, out _) is { } csr && (csr.DecryptKeyIdentifier is not null || csr.AsymmetricDecryptKeyIdentifier is not null);
}
