using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// A hand-driven DTLS client built from the codecs, for sending forged or misordered flights: it performs the
/// cookie exchange and collects the server's first flight, then the test composes whatever it wants.
/// </summary>
internal sealed class ManualClient : IDisposable
{
    private readonly IPEndPoint _server;
    private ushort _messageSeq;
    private ulong _seq0;
    private ulong _seq1;
    private DtlsRecordProtection _write;
    private DtlsRecordProtection _read;
    private byte[] _masterSecret = [];

    /// <param name="server">The server under test.</param>
    /// <param name="local">The loopback address to send from (127.0.0.1 unless set; any 127/8 address works on Linux).</param>
    public ManualClient(IPEndPoint server, IPAddress? local = null)
    {
        _server = server;
        Udp = new UdpClient(new IPEndPoint(local ?? IPAddress.Loopback, 0));
    }

    public UdpClient Udp { get; }

    public byte[] Random { get; } = RandomNumberGenerator.GetBytes(32);

    public byte[] ServerRandom { get; private set; } = [];

    public HandshakeTranscript Transcript { get; } = new();

    public List<ReassembledHandshakeMessage> ServerFlight { get; } = [];

    /// <summary>
    /// The extension_data of the extended_master_secret extension the ClientHello carries (empty, as RFC 7627 §5.1 has it),
    /// or null to play a legacy client that does not offer it; the keys are then derived from the RFC 5246 master secret.
    /// </summary>
    public byte[]? ExtendedMasterSecretData { get; set; } = [];

    /// <summary>The master secret once <see cref="DeriveKeys"/> ran.</summary>
    public byte[] MasterSecret => _masterSecret;

    public ClientHello Hello(byte[] cookie, params CipherSuite[] suites)
    {
        var extensions = new List<TlsExtension>
        {
            TlsExtensions.SupportedGroups(NamedGroup.Secp256r1),
            TlsExtensions.EcPointFormatsUncompressed(),
            TlsExtensions.SignatureAlgorithms(SignatureScheme.EcdsaSecp256r1Sha256),
        };
        if (ExtendedMasterSecretData is { } data)
        {
            extensions.Add(new TlsExtension(ExtensionType.ExtendedMasterSecret, data));
        }

        extensions.Add(TlsExtensions.RenegotiationInfoInitial());
        return new ClientHello { Random = Random, Cookie = cookie, CipherSuites = suites, Extensions = extensions };
    }

    public byte[] Plain(HandshakeMessage message, bool transcript = true)
    {
        byte[] body = message.Encode();
        ushort seq = _messageSeq++;
        if (transcript)
        {
            Transcript.Append(message.Type, seq, body);
        }

        byte[] fragment = HandshakeFragmenter.Fragment(message.Type, seq, body, 16000)[0];
        byte[] record = new byte[DtlsRecordCodec.HeaderLength + fragment.Length];
        DtlsRecordCodec.WritePlaintextRecord(record, ContentType.Handshake, _seq0++, fragment);
        return record;
    }

    public byte[] PlainRecord(ContentType type, byte[] body)
    {
        byte[] record = new byte[DtlsRecordCodec.HeaderLength + body.Length];
        DtlsRecordCodec.WritePlaintextRecord(record, type, _seq0++, body);
        return record;
    }

    public byte[] Ccs() => PlainRecord(ContentType.ChangeCipherSpec, [1]);

    public byte[] Encrypted(ContentType type, byte[] plaintext)
    {
        byte[] record = new byte[_write.GetSealedLength(plaintext.Length)];
        _write.Seal(record, type, 1, _seq1++, plaintext);
        return record;
    }

    public byte[] EncryptedHandshake(HandshakeMessage message)
    {
        byte[] body = message.Encode();
        ushort seq = _messageSeq++;
        Transcript.Append(message.Type, seq, body);
        return Encrypted(ContentType.Handshake, HandshakeFragmenter.Fragment(message.Type, seq, body, 16000)[0]);
    }

    public Task SendAsync(params byte[][] records) => Udp.SendAsync(records.SelectMany(r => r).ToArray(), _server).AsTask();

    /// <summary>Collects datagrams until none arrives for <paramref name="quietMs"/>.</summary>
    public async Task<List<byte[]>> ReceiveAllAsync(int quietMs = 400)
    {
        var result = new List<byte[]>();
        while (true)
        {
            using var cts = new CancellationTokenSource(quietMs);
            try
            {
                result.Add((await Udp.ReceiveAsync(cts.Token)).Buffer);
            }
            catch (OperationCanceledException)
            {
                return result;
            }
        }
    }

    /// <summary>
    /// Collects datagrams until <paramref name="done"/> holds for what arrived and then none arrives for a quiet window, or
    /// until <paramref name="seconds"/> passed: on a loaded machine an answer can take longer than one quiet window.
    /// </summary>
    public async Task<List<byte[]>> ReceiveUntilAsync(Func<List<byte[]>, bool> done, int seconds = 10)
    {
        var result = new List<byte[]>();
        for (var deadline = DateTime.UtcNow.AddSeconds(seconds); DateTime.UtcNow < deadline;)
        {
            result.AddRange(await ReceiveAllAsync());
            if (done(result))
            {
                break;
            }
        }

        return result;
    }

    /// <summary>CH1 → HelloVerifyRequest: the cookie for the second ClientHello.</summary>
    public async Task<byte[]> ExchangeCookieAsync(params CipherSuite[] suites)
    {
        // Retransmit like a real client (RFC 6347 §4.2.4): on a cold, loaded CI machine the first HelloVerifyRequest of a
        // process can take longer than one quiet window, and a single try made the first test of the assembly flaky.
        byte[] ch1 = Plain(Hello([], suites), transcript: false);
        byte[]? hvrDatagram = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(15); hvrDatagram is null && DateTime.UtcNow < deadline;)
        {
            await SendAsync(ch1);
            hvrDatagram = (await ReceiveAllAsync(1000)).FirstOrDefault();
        }

        Assert.True(hvrDatagram is not null, "no HelloVerifyRequest within 15 s");
        Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(hvrDatagram, 0, out DtlsRecord record, out _));
        Assert.True(HandshakeHeader.TryRead(record.Payload, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out _));
        Assert.Equal(HandshakeType.HelloVerifyRequest, header.Type);
        Assert.True(HelloVerifyRequest.TryParse(fragment, out HelloVerifyRequest? hvr));
        return hvr.Cookie;
    }

    /// <summary>CH1 → HelloVerifyRequest → CH2 → the server's flight up to ServerHelloDone.</summary>
    public async Task HandshakeToServerHelloDoneAsync(params CipherSuite[] suites)
    {
        byte[] cookie = await ExchangeCookieAsync(suites);
        await SendAsync(Plain(Hello(cookie, suites)));
        var reassembler = new HandshakeReassembler(1);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (ServerFlight.Count == 0 || ServerFlight[^1].Type != HandshakeType.ServerHelloDone)
        {
            Assert.True(DateTime.UtcNow < deadline, "no server flight");
            using var cts = new CancellationTokenSource(10_000);
            byte[] datagram = (await Udp.ReceiveAsync(cts.Token)).Buffer;
            var reader = new DtlsRecordReader(datagram, 0);
            while (reader.TryRead(out DtlsRecord r))
            {
                ReadOnlySpan<byte> payload = r.Payload;
                while (HandshakeHeader.TryRead(payload, out HandshakeHeader h, out ReadOnlySpan<byte> f, out int used))
                {
                    reassembler.Add(h, f);
                    payload = payload[used..];
                }
            }

            while (reassembler.TryTakeNext(out ReassembledHandshakeMessage? m))
            {
                ServerFlight.Add(m);
                Transcript.Append(m);
            }
        }

        Assert.True(ServerHello.TryParse(ServerFlight[0].Body, out ServerHello? sh));
        ServerRandom = sh.Random;
    }

    /// <summary>An ECDHE ClientKeyExchange against the server's ServerKeyExchange; derives the keys.</summary>
    public EcdheClientKeyExchange EcdheKeyExchange(CipherSuite suite)
    {
        Assert.True(EcdheServerKeyExchange.TryParse(ServerFlight.Single(m => m.Type == HandshakeType.ServerKeyExchange).Body, out var ske));
        using var kx = Dtls.EcdheKeyExchange.Create();
        byte[] preMaster = new byte[32];
        Assert.True(kx.TryDeriveSharedSecret(ske.PublicPoint, preMaster));
        PendingPreMaster = preMaster;
        PendingSuite = suite;
        return new EcdheClientKeyExchange { PublicPoint = kx.PublicPoint };
    }

    public byte[]? PendingPreMaster { get; set; }

    public CipherSuite PendingSuite { get; set; }

    /// <summary>Call after the ClientKeyExchange went into the transcript.</summary>
    public void DeriveKeys()
    {
        _masterSecret = new byte[48];
        if (ExtendedMasterSecretData is null)
        {
            // RFC 5246 §8.1, written out here rather than taken from DtlsKeySchedule, so that tests check the server's derivation.
            TlsPrf.Compute(PendingPreMaster!, "master secret"u8, [.. Random, .. ServerRandom], _masterSecret);
        }
        else
        {
            DtlsKeySchedule.ComputeExtendedMasterSecret(PendingPreMaster!, Transcript.GetHash(HashAlgorithmName.SHA256), _masterSecret);
        }

        using DtlsKeyBlock block = DtlsKeyBlock.Derive(CipherSuiteInfo.Get(PendingSuite), _masterSecret, Random, ServerRandom);
        _write = block.CreateClientWriteProtection();
        _read = block.CreateServerWriteProtection();
    }

    public Finished ClientFinished()
    {
        byte[] verify = new byte[12];
        DtlsKeySchedule.ComputeVerifyData(_masterSecret, true, Transcript.GetHash(HashAlgorithmName.SHA256), verify);
        return new Finished { VerifyData = verify };
    }

    /// <summary>
    /// The handshake message (already sent as <paramref name="messageSeq"/>) in a new record: a retransmission,
    /// with a fresh record sequence number and nothing added to the transcript (RFC 6347 §4.2.4).
    /// </summary>
    public byte[] Retransmission(HandshakeMessage message, ushort messageSeq, bool encrypted)
    {
        byte[] fragment = HandshakeFragmenter.Fragment(message.Type, messageSeq, message.Encode(), 16000)[0];
        return encrypted ? Encrypted(ContentType.Handshake, fragment) : PlainRecord(ContentType.Handshake, fragment);
    }

    /// <summary>Every epoch-1 record in <paramref name="datagrams"/> that authenticates under the server's write keys.</summary>
    public List<(ContentType Type, byte[] Plaintext)> OpenAll(IEnumerable<byte[]> datagrams)
    {
        var opened = new List<(ContentType, byte[])>();
        foreach (byte[] datagram in datagrams)
        {
            var reader = new DtlsRecordReader(datagram, 0);
            while (reader.TryRead(out DtlsRecord r))
            {
                byte[] plain = new byte[r.Payload.Length];
                if (r.Epoch == 1 && _read.IsCreated && _read.TryOpen(r, plain, out ContentType type, out int n))
                {
                    opened.Add((type, plain.AsSpan(0, n).ToArray()));
                }
            }
        }

        return opened;
    }

    /// <summary>The server's Finished verify_data expected after the client's Finished went into the transcript.</summary>
    public byte[] ExpectedServerVerifyData()
    {
        byte[] verify = new byte[12];
        DtlsKeySchedule.ComputeVerifyData(_masterSecret, false, Transcript.GetHash(HashAlgorithmName.SHA256), verify);
        return verify;
    }

    /// <summary>The first alert (plaintext or decryptable) in <paramref name="datagrams"/>, or null.</summary>
    public DtlsAlert? FindAlert(IEnumerable<byte[]> datagrams)
    {
        foreach (byte[] datagram in datagrams)
        {
            var reader = new DtlsRecordReader(datagram, 0);
            while (reader.TryRead(out DtlsRecord r))
            {
                if (r.ContentType == ContentType.Alert && r.Epoch == 0 && DtlsAlert.TryParse(r.Payload, out DtlsAlert alert))
                {
                    return alert;
                }

                if (r.Epoch == 1 && _read.IsCreated)
                {
                    byte[] plain = new byte[r.Payload.Length];
                    if (_read.TryOpen(r, plain, out ContentType type, out int n) && type == ContentType.Alert && DtlsAlert.TryParse(plain.AsSpan(0, n), out alert))
                    {
                        return alert;
                    }
                }
            }
        }

        return null;
    }

    /// <summary>True when any datagram carries an epoch-1 record (the server's ChangeCipherSpec + Finished flight).</summary>
    public static bool HasEpochOneRecord(IEnumerable<byte[]> datagrams)
    {
        foreach (byte[] datagram in datagrams)
        {
            var reader = new DtlsRecordReader(datagram, 0);
            while (reader.TryRead(out DtlsRecord r))
            {
                if (r.Epoch == 1)
                {
                    return true;
                }
            }
        }

        return false;
    }

    public void Dispose()
    {
        Udp.Dispose();
        _write.Dispose();
        _read.Dispose();
    }
}
