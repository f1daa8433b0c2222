using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls;

/// <summary>
/// The client side of the full handshake (RFC 5246 §7.3, RFC 6347 §4.2.1 cookie exchange, RFC 7925 §4).
/// One expected message per state; anything else is a fatal unexpected_message. The server's chain is
/// validated against explicit trust anchors and the expected name; the ServerKeyExchange signature is
/// verified strictly (attacks #10, #11).
/// </summary>
internal sealed class DtlsClientConnection : DtlsConnection
{
    private readonly DtlsClientOptions _options;
    private readonly string _expectedName;
    private readonly List<CipherSuite> _offered;
    private readonly HashSet<ExtensionType> _offeredExtensions = [];
    private State _state = State.ExpectHello;
    private byte[] _lastClientHelloBody = [];
    private ushort _lastClientHelloSeq;
    private byte[] _cookie = [];
    private ECDsa? _serverKey;
    private byte[]? _serverPoint;
    private bool _certificateRequested;

    public DtlsClientConnection(DtlsClientOptions options, IDtlsConnectionOwner owner, IPEndPoint server, ILogger? logger)
        : base(options, owner, server, logger)
    {
        _options = options;
        _expectedName = options.ServerName ?? server.Address.ToString();
        _offered = options.CipherSuites
            .Where(s => CipherSuiteInfo.Get(s).KeyExchange == KeyExchangeKind.EcdheEcdsa || options.HasPsk)
            .ToList();
        if (_offered.Count == 0)
        {
            throw new ArgumentException("No cipher suite can be offered with these credentials.", nameof(options));
        }

        SetClientRandom(RandomNumberGenerator.GetBytes(DtlsKeySchedule.RandomLength));
        if (options.EnableConnectionId)
        {
            LocalConnectionId = RandomNumberGenerator.GetBytes(options.ConnectionIdLength);
        }
    }

    private enum State
    {
        ExpectHello,
        ExpectCertificate,
        ExpectServerKeyExchange,
        ExpectCertificateRequestOrDone,
        ExpectPskKeyExchangeOrDone,
        ExpectChangeCipherSpec,
        ExpectFinished,
        Done,
    }

    protected override bool IsExpectingChangeCipherSpec => _state == State.ExpectChangeCipherSpec;

    protected override bool RetransmitsFinalFlight => false;

    protected override bool IsServer => false;

    /// <summary>Sends ClientHello1 (empty cookie) and starts its retransmission timer.</summary>
    public ValueTask StartAsync(CancellationToken cancellationToken) => RunLockedAsync(SendClientHello, cancellationToken);

    protected override void OnChangeCipherSpecReceived() => _state = State.ExpectFinished;

    /// <summary>The ClientHello kept for the transcript, the cookie, the server's ECDH point and its public key.</summary>
    internal override bool HoldsKeyExchangeState =>
        _serverKey is not null || _serverPoint is not null || _lastClientHelloBody.Length > 0 || _cookie.Length > 0;

    protected override void OnHandshakeStateReleased()
    {
        _lastClientHelloBody = [];
        _cookie = [];
        _serverPoint = null;
        _serverKey?.Dispose();
        _serverKey = null;
    }

    protected override async ValueTask OnHandshakeMessageAsync(ReassembledHandshakeMessage message, CancellationToken cancellationToken)
    {
        switch (_state, message.Type)
        {
            case (State.ExpectHello, HandshakeType.HelloVerifyRequest):
                OnHelloVerifyRequest(message);
                break;
            case (State.ExpectHello, HandshakeType.ServerHello):
                OnServerHello(message);
                break;
            case (State.ExpectCertificate, HandshakeType.Certificate):
                OnCertificate(message);
                break;
            case (State.ExpectServerKeyExchange, HandshakeType.ServerKeyExchange):
                OnEcdheServerKeyExchange(message);
                break;
            case (State.ExpectPskKeyExchangeOrDone, HandshakeType.ServerKeyExchange):
                if (!PskServerKeyExchange.TryParse(message.Body, out _))
                {
                    Fail(AlertDescription.DecodeError, "malformed PSK ServerKeyExchange");
                    break;
                }

                Transcript.Append(message);
                break;
            case (State.ExpectCertificateRequestOrDone, HandshakeType.CertificateRequest):
                if (!CertificateRequest.TryParse(message.Body, out _))
                {
                    Fail(AlertDescription.DecodeError, "malformed CertificateRequest");
                    break;
                }

                Transcript.Append(message);
                _certificateRequested = true;
                break;
            case (State.ExpectCertificateRequestOrDone or State.ExpectPskKeyExchangeOrDone, HandshakeType.ServerHelloDone):
                OnServerHelloDone(message);
                if (!IsClosed)
                {
                    await WriteKeyLogAsync(cancellationToken).ConfigureAwait(false);
                }

                break;
            case (State.ExpectFinished, HandshakeType.Finished):
                OnFinished(message);
                break;
            default:
                Fail(AlertDescription.UnexpectedMessage, $"{message.Type} while in {_state}");
                break;
        }
    }

    private void SendClientHello()
    {
        bool ecdhe = _offered.Any(s => CipherSuiteInfo.Get(s).KeyExchange == KeyExchangeKind.EcdheEcdsa);
        var extensions = new List<TlsExtension>();
        if (ecdhe)
        {
            extensions.Add(TlsExtensions.SupportedGroups(NamedGroup.Secp256r1));
            extensions.Add(TlsExtensions.EcPointFormatsUncompressed());
            extensions.Add(TlsExtensions.SignatureAlgorithms(SignatureScheme.EcdsaSecp256r1Sha256, SignatureScheme.EcdsaSecp384r1Sha384));
        }

        if (_options.OfferExtendedMasterSecret)
        {
            extensions.Add(TlsExtensions.ExtendedMasterSecret()); // RFC 7627 §5.2: in every ClientHello
        }

        extensions.Add(TlsExtensions.RenegotiationInfoInitial());
        if (_options.EnableConnectionId)
        {
            extensions.Add(TlsExtensions.ConnectionId(LocalConnectionId));
        }

        if (ecdhe && Uri.CheckHostName(_expectedName) == UriHostNameType.Dns)
        {
            extensions.Add(TlsExtensions.ServerName(_expectedName)); // RFC 6066 §3: no IP literals
        }

        _offeredExtensions.Clear();
        foreach (TlsExtension extension in extensions)
        {
            _offeredExtensions.Add(extension.Type);
        }

        var hello = new ClientHello { Random = ClientRandom.ToArray(), Cookie = _cookie, CipherSuites = _offered, Extensions = extensions };
        var flight = new List<FlightItem>();
        _lastClientHelloSeq = NextSendMessageSeq;
        // RFC 6347 §4.2.1: ClientHello goes into the transcript only once we know no HelloVerifyRequest follows.
        _lastClientHelloBody = AddHandshake(flight, hello, appendToTranscript: false);
        SendFlight(flight, expectResponse: true);
    }

    private void OnHelloVerifyRequest(ReassembledHandshakeMessage message)
    {
        if (!HelloVerifyRequest.TryParse(message.Body, out HelloVerifyRequest? hvr) || hvr.Cookie.Length == 0)
        {
            Fail(AlertDescription.DecodeError, "malformed HelloVerifyRequest");
            return;
        }

        _cookie = hvr.Cookie;
        ResetEpochZeroReplayWindow();
        SendClientHello();
    }

    private void OnServerHello(ReassembledHandshakeMessage message)
    {
        StopRetransmissionTimer();
        if (!ServerHello.TryParse(message.Body, out ServerHello? hello))
        {
            Fail(AlertDescription.DecodeError, "malformed ServerHello");
            return;
        }

        if (hello.ServerVersion != DtlsVersion.Dtls12)
        {
            Fail(AlertDescription.ProtocolVersion, "server did not choose DTLS 1.2");
            return;
        }

        if (!_offered.Contains(hello.CipherSuite) || hello.CompressionMethod != 0 || !CipherSuiteInfo.TryGet(hello.CipherSuite, out CipherSuiteInfo? suite))
        {
            Fail(AlertDescription.IllegalParameter, "server chose a suite or compression we did not offer");
            return;
        }

        foreach (TlsExtension extension in hello.Extensions)
        {
            if (!_offeredExtensions.Contains(extension.Type))
            {
                Fail(AlertDescription.UnsupportedExtension, $"unsolicited extension {extension.Type}"); // RFC 5246 §7.4.1.4
                return;
            }
        }

        // RFC 7627 §5.2: abort unless the policy admits legacy servers. (Not offered, it cannot be here: unsolicited above.)
        bool extendedMasterSecret = TlsExtensions.Find(hello.Extensions, ExtensionType.ExtendedMasterSecret) is not null;
        if (!extendedMasterSecret && _options.ExtendedMasterSecret == ExtendedMasterSecretPolicy.Required)
        {
            Fail(AlertDescription.HandshakeFailure, "server does not negotiate extended_master_secret (RFC 7627)");
            return;
        }

        IsExtendedMasterSecretNegotiated = extendedMasterSecret;

        if (TlsExtensions.Find(hello.Extensions, ExtensionType.RenegotiationInfo) is { } renegotiation &&
            !TlsExtensions.IsInitialRenegotiationInfo(renegotiation.Data))
        {
            Fail(AlertDescription.HandshakeFailure, "renegotiation_info not empty");
            return;
        }

        if (TlsExtensions.Find(hello.Extensions, ExtensionType.ConnectionId) is { } cid)
        {
            if (!TlsExtensions.TryParseConnectionId(cid.Data, out byte[]? serverCid))
            {
                Fail(AlertDescription.DecodeError, "malformed connection_id");
                return;
            }

            SetPeerConnectionId(serverCid);
            IsConnectionIdNegotiated = true;
        }
        else
        {
            LocalConnectionId = [];
        }

        Suite = suite;
        SetServerRandom(hello.Random);
        Transcript.Append(HandshakeType.ClientHello, _lastClientHelloSeq, _lastClientHelloBody);
        Transcript.Append(message);
        _state = suite.KeyExchange == KeyExchangeKind.EcdheEcdsa ? State.ExpectCertificate : State.ExpectPskKeyExchangeOrDone;
    }

    private void OnCertificate(ReassembledHandshakeMessage message)
    {
        DateTimeOffset now = _options.TimeProvider.GetUtcNow();
        var policy = PeerChainPolicy.Of(_options);
        X509Certificate2Collection? chain;
        if (_options.ServerChains.TryGet(message.Body, policy, now, out X509Certificate2[]? known))
        {
            // The same bytes parsed, carried a P-256/P-384 key and validated before, and the decision still holds (see PeerChainCache).
            chain = new X509Certificate2Collection(known);
            _serverKey = known[0].GetECDsaPublicKey()!;
        }
        else if (!TryValidateChain(message, policy, now, out chain))
        {
            return;
        }

        bool nameMatches;
        try
        {
            nameMatches = chain[0].MatchesHostname(_expectedName, allowWildcards: true, allowCommonName: false);
        }
        catch (Exception ex) when (ex is ArgumentException or CryptographicException)
        {
            nameMatches = false;
        }

        if (!nameMatches)
        {
            Fail(AlertDescription.BadCertificate, $"server certificate is not for '{_expectedName}'");
            return;
        }

        PeerCertificates = chain;
        IsPeerCertificateValidated = true;
        Transcript.Append(message);
        _state = State.ExpectServerKeyExchange;
    }

    /// <summary>Decodes and validates the server's chain (no cached decision applied), remembers a chain that validated; false after a fatal alert.</summary>
    private bool TryValidateChain(ReassembledHandshakeMessage message, PeerChainPolicy policy, DateTimeOffset now,
        [NotNullWhen(true)] out X509Certificate2Collection? chain)
    {
        chain = null;
        if (!CertificateMessage.TryParse(message.Body, out CertificateMessage? certificate) || certificate.Certificates.Count == 0)
        {
            Fail(AlertDescription.DecodeError, "malformed or empty server Certificate");
            return false;
        }

        chain = DtlsCertificateValidator.TryLoad(certificate.Certificates);
        if (chain is null)
        {
            Fail(AlertDescription.BadCertificate, "undecodable server certificate");
            return false;
        }

        _serverKey = DtlsCertificateValidator.TryGetECDsaPublicKey(chain[0]);
        if (_serverKey is null || DtlsCertificateValidator.SchemeFor(_serverKey) is null)
        {
            Fail(AlertDescription.UnsupportedCertificate, "server key is not ECDSA P-256/P-384");
            return false;
        }

        if (!DtlsCertificateValidator.Validate(chain, policy.TrustAnchors, policy.Intermediates, policy.RevocationMode, now,
                DtlsCertificateValidator.ServerAuthOid, out DateTimeOffset pathNotBefore, out DateTimeOffset pathNotAfter))
        {
            Fail(AlertDescription.UnknownCa, "server chain does not validate to a trust anchor");
            return false;
        }

        _options.ServerChains.Add(message.Body, [.. chain], pathNotBefore, pathNotAfter, policy);
        return true;
    }

    private void OnEcdheServerKeyExchange(ReassembledHandshakeMessage message)
    {
        if (!EcdheServerKeyExchange.TryParse(message.Body, out EcdheServerKeyExchange? ske))
        {
            Fail(AlertDescription.DecodeError, "malformed ServerKeyExchange");
            return;
        }

        if (ske.Group != NamedGroup.Secp256r1 || ske.PublicPoint.Length != EcdheKeyExchange.PointLength)
        {
            Fail(AlertDescription.IllegalParameter, "server chose a group we did not offer");
            return;
        }

        // Attacks #10, #11: the signature must be well formed (0 < r, s < n) and verify under the certified key.
        if (ske.SignatureScheme != DtlsCertificateValidator.SchemeFor(_serverKey!) ||
            !DtlsSignatures.VerifyServerKeyExchange(_serverKey!, ske.SignatureScheme, ClientRandom, ServerRandom, ske.Parameters, ske.Signature))
        {
            Fail(AlertDescription.DecryptError, "ServerKeyExchange signature invalid");
            return;
        }

        _serverPoint = ske.PublicPoint;
        Transcript.Append(message);
        _state = State.ExpectCertificateRequestOrDone;
    }

    private void OnServerHelloDone(ReassembledHandshakeMessage message)
    {
        if (!ServerHelloDone.TryParse(message.Body, out _))
        {
            Fail(AlertDescription.DecodeError, "malformed ServerHelloDone");
            return;
        }

        Transcript.Append(message);
        var flight = new List<FlightItem>();
        X509Certificate2? clientCertificate = _certificateRequested ? _options.ClientCertificate : null;
        if (_certificateRequested)
        {
            var chain = new List<byte[]>();
            if (clientCertificate is not null)
            {
                chain.Add(clientCertificate.RawData);
                chain.AddRange(_options.ClientCertificateChain.Select(c => c.RawData));
            }

            AddHandshake(flight, new CertificateMessage { Certificates = chain }); // empty: anonymous (RFC 5246 §7.4.6)
        }

        byte[] preMaster;
        if (Suite!.KeyExchange == KeyExchangeKind.EcdheEcdsa)
        {
            using EcdheKeyExchange keyExchange = EcdheKeyExchange.Create();
            preMaster = new byte[EcdheKeyExchange.SharedSecretLength];
            if (!keyExchange.TryDeriveSharedSecret(_serverPoint, preMaster))
            {
                Fail(AlertDescription.IllegalParameter, "invalid server ECDH point");
                return;
            }

            AddHandshake(flight, new EcdheClientKeyExchange { PublicPoint = keyExchange.PublicPoint });
        }
        else
        {
            byte[] psk = _options.PskKey!;
            PskIdentity = _options.PskIdentity!;
            preMaster = new byte[DtlsKeySchedule.GetPskPreMasterSecretLength(psk.Length)];
            DtlsKeySchedule.WritePskPreMasterSecret(psk, preMaster);
            AddHandshake(flight, new PskClientKeyExchange { Identity = PskIdentity });
        }

        // The transcript ends with ClientKeyExchange here, where RFC 7627 §4's session_hash stops.
        DeriveMasterSecret(preMaster);
        using (DtlsKeyBlock keyBlock = DtlsKeyBlock.Derive(Suite, MasterSecret, ClientRandom, ServerRandom))
        {
            InstallKeys(keyBlock, isClient: true);
        }

        if (clientCertificate is not null)
        {
            using ECDsa key = clientCertificate.GetECDsaPrivateKey()!;
            SignatureScheme scheme = DtlsCertificateValidator.SchemeFor(key) ?? SignatureScheme.EcdsaSecp256r1Sha256;
            byte[] signature = DtlsSignatures.SignCertificateVerify(key, scheme, Transcript.Messages);
            AddHandshake(flight, new CertificateVerify { SignatureScheme = scheme, Signature = signature });
        }

        AddChangeCipherSpec(flight);
        byte[] verifyData = new byte[DtlsKeySchedule.VerifyDataLength];
        DtlsKeySchedule.ComputeVerifyData(MasterSecret, fromClient: true, Transcript.GetHash(HashAlgorithmName.SHA256), verifyData);
        SetTlsUnique(verifyData); // RFC 5929 §3.1
        AddHandshake(flight, new Finished { VerifyData = verifyData });
        SendFlight(flight, expectResponse: true);
        _state = State.ExpectChangeCipherSpec;
    }

    private void OnFinished(ReassembledHandshakeMessage message)
    {
        if (!Finished.TryParse(message.Body, out Finished? finished))
        {
            Fail(AlertDescription.DecodeError, "malformed Finished");
            return;
        }

        if (!DtlsKeySchedule.VerifyFinished(MasterSecret, fromClient: false, Transcript.GetHash(HashAlgorithmName.SHA256), finished.VerifyData))
        {
            Fail(AlertDescription.DecryptError, "server Finished does not verify");
            return;
        }

        Transcript.Append(message);
        StopRetransmissionTimer();
        _state = State.Done;
        MarkEstablished();
    }
}
