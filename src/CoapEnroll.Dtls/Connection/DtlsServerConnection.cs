using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Dtls;

/// <summary>
/// The server side of the full handshake (RFC 5246 §7.3, RFC 6347 §4.2.1, RFC 7925 §4), created only after
/// the ClientHello's cookie verified. Message order is enforced strictly: exactly one expected message type
/// per state, anything else is a fatal unexpected_message.
/// <code>
/// ECDHE: ClientHello → [ServerHello Certificate ServerKeyExchange CertificateRequest ServerHelloDone]
///        Certificate ClientKeyExchange [CertificateVerify] ChangeCipherSpec Finished → [ChangeCipherSpec Finished]
/// PSK:   ClientHello → [ServerHello (ServerKeyExchange) ServerHelloDone]
///        ClientKeyExchange ChangeCipherSpec Finished → [ChangeCipherSpec Finished]
/// </code>
/// </summary>
internal sealed class DtlsServerConnection : DtlsConnection
{
    private State _state = State.ExpectClientHello;

    /// <summary>The server's options (the base class keeps them: no second reference per session).</summary>
    private DtlsServerOptions ServerOptions => (DtlsServerOptions)Options;

    /// <summary>The handshake-only state, key exchange objects included: one reference, dropped at establishment.</summary>
    private DtlsServerHandshakeState Handshake => (DtlsServerHandshakeState)HandshakeState;

    public DtlsServerConnection(DtlsServerOptions options, IDtlsConnectionOwner owner, IPEndPoint remote, ushort clientHelloMessageSeq,
        ulong clientHelloRecordSequence, ReadOnlySpan<byte> clientRandom, Func<DtlsServerConnection, byte[]> allocateConnectionId, ILogger? logger)
        : base(options, owner, remote, logger, new DtlsServerHandshakeState(clientHelloMessageSeq, allocateConnectionId))
    {
        // RFC 6347 §4.2.2: the server's message_seq continues from the ClientHello it answers.
        NextSendMessageSeq = clientHelloMessageSeq;

        // §4.2.1: the initial ServerHello mirrors the cookie-bearing ClientHello's record sequence number,
        // so it never repeats the number of the HelloVerifyRequest the client already holds.
        SetEpochZeroWriteSequence(clientHelloRecordSequence);

        // The admitted ClientHello's random (OnClientHello sets the same again): the channel matches its retransmissions by it.
        SetClientRandom(clientRandom);
    }

    private enum State
    {
        ExpectClientHello,
        ExpectCertificate,
        ExpectClientKeyExchange,
        ExpectCertificateVerify,
        ExpectChangeCipherSpec,
        ExpectFinished,
        Done,
    }

    /// <summary>An established connection this one replaces once it completes (same address, new cookie-verified handshake).</summary>
    public DtlsServerConnection? Supersedes { get; set; }

    /// <summary>The source-address key this connection is counted under for <see cref="DtlsServerOptions.MaxConnectionsPerAddress"/>; the channel's table lock guards it.</summary>
    internal UInt128 CountedAddress { get; set; }

    /// <summary>True when the ClientHello that created this connection had <paramref name="random"/> (a retransmission of it).</summary>
    public bool HasClientRandom(ReadOnlySpan<byte> random) => ClientRandom.SequenceEqual(random);

    protected override bool IsExpectingChangeCipherSpec => _state == State.ExpectChangeCipherSpec;

    protected override bool RetransmitsFinalFlight => true;

    protected override bool IsServer => true;

    protected override void OnChangeCipherSpecReceived() => _state = State.ExpectFinished;

    /// <summary>The ephemeral ECDH key (when the handshake failed before ClientKeyExchange) and the client's public key.</summary>
    internal override bool HoldsKeyExchangeState => HandshakeStateIfHeld is DtlsServerHandshakeState { HoldsKeys: true };

    protected override async ValueTask OnHandshakeMessageAsync(ReassembledHandshakeMessage message, CancellationToken cancellationToken)
    {
        switch (_state, message.Type)
        {
            case (State.ExpectClientHello, HandshakeType.ClientHello):
                OnClientHello(message);
                break;
            case (State.ExpectCertificate, HandshakeType.Certificate):
                OnCertificate(message);
                break;
            case (State.ExpectClientKeyExchange, HandshakeType.ClientKeyExchange):
                await OnClientKeyExchangeAsync(message, cancellationToken).ConfigureAwait(false);
                break;
            case (State.ExpectCertificateVerify, HandshakeType.CertificateVerify):
                OnCertificateVerify(message);
                break;
            case (State.ExpectFinished, HandshakeType.Finished):
                OnFinished(message);
                break;
            default:
                // Attacks #1-#6: a message out of order (including Finished without ChangeCipherSpec, a missing
                // Certificate or CertificateVerify, a second ClientHello) ends the handshake.
                Fail(AlertDescription.UnexpectedMessage, $"{message.Type} while in {_state}");
                break;
        }
    }

    private void OnClientHello(ReassembledHandshakeMessage message)
    {
        if (!ClientHello.TryParse(message.Body, out ClientHello? hello))
        {
            Fail(AlertDescription.DecodeError, "malformed ClientHello");
            return;
        }

        SetClientRandom(hello.Random);
        Transcript.Append(message);

        // DTLS versions count down: 0xFEFD (1.2) < 0xFEFF (1.0).
        if (hello.ClientVersion > DtlsVersion.Dtls12)
        {
            Fail(AlertDescription.ProtocolVersion, "client does not offer DTLS 1.2");
            return;
        }

        // RFC 7627 §5.2: a client without the extension is refused unless the policy admits legacy clients (RFC 7925 §16
        // makes it a SHOULD for clients); it is echoed exactly when offered.
        TlsExtension? extendedMasterSecret = TlsExtensions.Find(hello.Extensions, ExtensionType.ExtendedMasterSecret);
        if (extendedMasterSecret is { Data.Length: > 0 })
        {
            Fail(AlertDescription.DecodeError, "extended_master_secret with extension_data"); // RFC 7627 §5.1: empty
            return;
        }

        if (extendedMasterSecret is null && ServerOptions.ExtendedMasterSecret == ExtendedMasterSecretPolicy.Required)
        {
            Fail(AlertDescription.HandshakeFailure, "client does not offer extended_master_secret");
            return;
        }

        IsExtendedMasterSecretNegotiated = extendedMasterSecret is not null;

        TlsExtension? renegotiation = TlsExtensions.Find(hello.Extensions, ExtensionType.RenegotiationInfo);
        if (renegotiation is not null && !TlsExtensions.IsInitialRenegotiationInfo(renegotiation.Data))
        {
            Fail(AlertDescription.HandshakeFailure, "renegotiation_info not empty"); // RFC 5746 §3.6
            return;
        }

        bool secureRenegotiation = renegotiation is not null || hello.CipherSuites.Contains((CipherSuite)0x00FF);

        CipherSuiteInfo? suite = SelectSuite(hello, out AlertDescription selectionAlert);
        if (suite is null)
        {
            Fail(selectionAlert, "no acceptable cipher suite");
            return;
        }

        Suite = suite;
        var extensions = new List<TlsExtension>();
        if (IsExtendedMasterSecretNegotiated)
        {
            extensions.Add(TlsExtensions.ExtendedMasterSecret());
        }

        if (secureRenegotiation)
        {
            extensions.Add(TlsExtensions.RenegotiationInfoInitial());
        }

        if (suite.KeyExchange == KeyExchangeKind.EcdheEcdsa && TlsExtensions.Find(hello.Extensions, ExtensionType.EcPointFormats) is not null)
        {
            extensions.Add(TlsExtensions.EcPointFormatsUncompressed());
        }

        if (ServerOptions.EnableConnectionId && TlsExtensions.Find(hello.Extensions, ExtensionType.ConnectionId) is { } cidExtension)
        {
            if (!TlsExtensions.TryParseConnectionId(cidExtension.Data, out byte[]? peerCid))
            {
                Fail(AlertDescription.DecodeError, "malformed connection_id");
                return;
            }

            SetPeerConnectionId(peerCid);
            LocalConnectionId = Handshake.AllocateConnectionId(this);
            IsConnectionIdNegotiated = true;
            extensions.Add(TlsExtensions.ConnectionId(LocalConnectionId));
        }

        byte[] serverRandom = RandomNumberGenerator.GetBytes(DtlsKeySchedule.RandomLength);
        SetServerRandom(serverRandom);
        var flight = new List<FlightItem>();
        AddHandshake(flight, new ServerHello { Random = serverRandom, CipherSuite = suite.Suite, Extensions = extensions });

        if (suite.KeyExchange == KeyExchangeKind.EcdheEcdsa)
        {
            X509Certificate2 certificate = ServerOptions.Certificate!;
            var chain = new List<byte[]> { certificate.RawData };
            chain.AddRange(ServerOptions.CertificateChain.Select(c => c.RawData));
            AddHandshake(flight, new CertificateMessage { Certificates = chain });

            EcdheKeyExchange keyExchange = EcdheKeyExchange.Create();
            Handshake.KeyExchange = keyExchange;
            byte[] parameters = EcdheServerKeyExchange.EncodeParameters(EcdheKeyExchange.Group, keyExchange.PublicPoint);
            using ECDsa key = certificate.GetECDsaPrivateKey()!;
            SignatureScheme scheme = DtlsCertificateValidator.SchemeFor(key) ?? SignatureScheme.EcdsaSecp256r1Sha256;
            byte[] signature = DtlsSignatures.SignServerKeyExchange(key, scheme, ClientRandom, ServerRandom, parameters);
            AddHandshake(flight, new EcdheServerKeyExchange
            {
                Group = EcdheKeyExchange.Group,
                PublicPoint = keyExchange.PublicPoint,
                SignatureScheme = scheme,
                Signature = signature,
            });

            // Always ask: the client may answer with an empty Certificate and stay anonymous (RFC 5246 §7.4.6).
            AddHandshake(flight, new CertificateRequest
            {
                CertificateTypes = [ClientCertificateType.EcdsaSign],
                SignatureAlgorithms = [SignatureScheme.EcdsaSecp256r1Sha256, SignatureScheme.EcdsaSecp384r1Sha384],
            });
            _state = State.ExpectCertificate;
        }
        else
        {
            if (ServerOptions.PskIdentityHint is { } hint)
            {
                AddHandshake(flight, new PskServerKeyExchange { IdentityHint = hint });
            }

            _state = State.ExpectClientKeyExchange;
        }

        AddHandshake(flight, new ServerHelloDone());
        SendFlight(flight, expectResponse: true);
    }

    private CipherSuiteInfo? SelectSuite(ClientHello hello, out AlertDescription alert)
    {
        alert = AlertDescription.HandshakeFailure;
        bool ecdheUsable = ServerOptions.Certificate is not null;
        if (TlsExtensions.Find(hello.Extensions, ExtensionType.SupportedGroups) is { } groups)
        {
            ecdheUsable &= TlsExtensions.TryParseSupportedGroups(groups.Data, out NamedGroup[]? list) && list.Contains(NamedGroup.Secp256r1);
        }

        if (TlsExtensions.Find(hello.Extensions, ExtensionType.EcPointFormats) is { } formats)
        {
            ecdheUsable &= TlsExtensions.TryParseEcPointFormats(formats.Data, out byte[]? list) && list.Contains((byte)0);
        }

        if (TlsExtensions.Find(hello.Extensions, ExtensionType.SignatureAlgorithms) is { } algorithms && ecdheUsable)
        {
            using ECDsa? key = ServerOptions.Certificate!.GetECDsaPublicKey();
            SignatureScheme needed = key is null ? SignatureScheme.EcdsaSecp256r1Sha256 : DtlsCertificateValidator.SchemeFor(key) ?? SignatureScheme.EcdsaSecp256r1Sha256;
            ecdheUsable &= TlsExtensions.TryParseSignatureAlgorithms(algorithms.Data, out SignatureScheme[]? list) && list.Contains(needed);
        }

        foreach (CipherSuite preferred in ServerOptions.CipherSuites)
        {
            if (!hello.CipherSuites.Contains(preferred) || !CipherSuiteInfo.TryGet(preferred, out CipherSuiteInfo? info))
            {
                continue;
            }

            if (info.KeyExchange == KeyExchangeKind.EcdheEcdsa ? ecdheUsable : ServerOptions.PskKeyLookup is not null)
            {
                return info;
            }
        }

        return null;
    }

    private void OnCertificate(ReassembledHandshakeMessage message)
    {
        StopRetransmissionTimer();
        DateTimeOffset now = ServerOptions.TimeProvider.GetUtcNow();
        if (ServerOptions.ClientChains.TryGet(message.Body, ServerOptions, now, out X509Certificate2[]? known))
        {
            // The same bytes parsed, carried a P-256/P-384 key and validated before, and the decision still holds (see PeerChainCache).
            Transcript.Append(message);
            Handshake.ClientKey = known[0].GetECDsaPublicKey()!;
            PeerCertificates = new X509Certificate2Collection(known);
            IsPeerCertificateValidated = true;
            _state = State.ExpectClientKeyExchange;
            return;
        }

        if (!CertificateMessage.TryParse(message.Body, out CertificateMessage? certificate))
        {
            Fail(AlertDescription.DecodeError, "malformed Certificate");
            return;
        }

        Transcript.Append(message);
        if (certificate.Certificates.Count == 0)
        {
            if (ServerOptions.RequireClientCertificate)
            {
                Fail(AlertDescription.HandshakeFailure, "client certificate required"); // attack #2
                return;
            }

            _state = State.ExpectClientKeyExchange;
            return;
        }

        X509Certificate2Collection? chain = DtlsCertificateValidator.TryLoad(certificate.Certificates);
        if (chain is null)
        {
            Fail(AlertDescription.BadCertificate, "undecodable client certificate");
            return;
        }

        ECDsa? clientKey = DtlsCertificateValidator.TryGetECDsaPublicKey(chain[0]);
        Handshake.ClientKey = clientKey;
        if (clientKey is null || DtlsCertificateValidator.SchemeFor(clientKey) is null)
        {
            Fail(AlertDescription.UnsupportedCertificate, "client certificate key is not ECDSA P-256/P-384");
            return;
        }

        bool valid = DtlsCertificateValidator.Validate(chain, ServerOptions.ClientCertificateTrustAnchors, ServerOptions.ClientCertificateIntermediates, ServerOptions.RevocationMode,
            now, DtlsCertificateValidator.ClientAuthOid, out DateTimeOffset pathNotBefore, out DateTimeOffset pathNotAfter);
        if (!valid && !ServerOptions.AllowUnvalidatedClientCertificates)
        {
            Fail(AlertDescription.BadCertificate, "client certificate chain does not validate");
            return;
        }

        if (valid)
        {
            ServerOptions.ClientChains.Add(message.Body, [.. chain], pathNotBefore, pathNotAfter, ServerOptions);
        }

        PeerCertificates = chain;
        IsPeerCertificateValidated = valid;
        _state = State.ExpectClientKeyExchange;
    }

    private async ValueTask OnClientKeyExchangeAsync(ReassembledHandshakeMessage message, CancellationToken cancellationToken)
    {
        StopRetransmissionTimer();
        DtlsServerHandshakeState handshake = Handshake; // the same object after the PSK lookup's await
        byte[] preMaster;
        if (Suite!.KeyExchange == KeyExchangeKind.EcdheEcdsa)
        {
            if (!EcdheClientKeyExchange.TryParse(message.Body, out EcdheClientKeyExchange? cke))
            {
                Fail(AlertDescription.DecodeError, "malformed ClientKeyExchange");
                return;
            }

            preMaster = new byte[EcdheKeyExchange.SharedSecretLength];
            if (!handshake.KeyExchange!.TryDeriveSharedSecret(cke.PublicPoint, preMaster))
            {
                Fail(AlertDescription.IllegalParameter, "invalid client ECDH point");
                return;
            }
        }
        else
        {
            if (!PskClientKeyExchange.TryParse(message.Body, out PskClientKeyExchange? cke))
            {
                Fail(AlertDescription.DecodeError, "malformed ClientKeyExchange");
                return;
            }

            byte[]? psk = cke.Identity.Length == 0 ? null : await ServerOptions.PskKeyLookup!(cke.Identity, cancellationToken).ConfigureAwait(false);
            if (psk is not { Length: > 0 })
            {
                Fail(AlertDescription.UnknownPskIdentity, "unknown PSK identity"); // RFC 4279 §2
                return;
            }

            PskIdentity = cke.Identity;
            preMaster = new byte[DtlsKeySchedule.GetPskPreMasterSecretLength(psk.Length)];
            DtlsKeySchedule.WritePskPreMasterSecret(psk, preMaster);
        }

        Transcript.Append(message);
        // The transcript ends with ClientKeyExchange here, where RFC 7627 §4's session_hash stops.
        DeriveMasterSecret(preMaster);
        using (DtlsKeyBlock keyBlock = DtlsKeyBlock.Derive(Suite, MasterSecret, ClientRandom, ServerRandom))
        {
            InstallKeys(keyBlock, isClient: false);
        }

        handshake.DisposeKeyExchange();
        await WriteKeyLogAsync(cancellationToken).ConfigureAwait(false);
        // Attack #3: a client that sent a certificate must prove possession before ChangeCipherSpec.
        _state = handshake.ClientKey is not null ? State.ExpectCertificateVerify : State.ExpectChangeCipherSpec;
    }

    private void OnCertificateVerify(ReassembledHandshakeMessage message)
    {
        if (!CertificateVerify.TryParse(message.Body, out CertificateVerify? verify))
        {
            Fail(AlertDescription.DecodeError, "malformed CertificateVerify");
            return;
        }

        ECDsa clientKey = Handshake.ClientKey!;
        if (verify.SignatureScheme != DtlsCertificateValidator.SchemeFor(clientKey) ||
            !DtlsSignatures.VerifyCertificateVerify(clientKey, verify.SignatureScheme, Transcript.Messages, verify.Signature))
        {
            Fail(AlertDescription.DecryptError, "CertificateVerify signature invalid"); // RFC 5246 §7.2.2
            return;
        }

        Transcript.Append(message);
        _state = State.ExpectChangeCipherSpec;
    }

    private void OnFinished(ReassembledHandshakeMessage message)
    {
        if (!Finished.TryParse(message.Body, out Finished? finished))
        {
            Fail(AlertDescription.DecodeError, "malformed Finished");
            return;
        }

        if (!DtlsKeySchedule.VerifyFinished(MasterSecret, fromClient: true, Transcript.GetHash(HashAlgorithmName.SHA256), finished.VerifyData))
        {
            Fail(AlertDescription.DecryptError, "client Finished does not verify");
            return;
        }

        Transcript.Append(message);
        SetTlsUnique(finished.VerifyData); // RFC 5929 §3.1: the first Finished, the client's in a full handshake

        byte[] verifyData = new byte[DtlsKeySchedule.VerifyDataLength];
        DtlsKeySchedule.ComputeVerifyData(MasterSecret, fromClient: false, Transcript.GetHash(HashAlgorithmName.SHA256), verifyData);
        var flight = new List<FlightItem>();
        AddChangeCipherSpec(flight);
        AddHandshake(flight, new Finished { VerifyData = verifyData });
        // The final flight has no timer; it is repeated when the client repeats its flight (RFC 6347 §4.2.4).
        SendFlight(flight, expectResponse: false);
        _state = State.Done;
        MarkEstablished();
    }
}
