using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// Issue 19 §3 on the serve host with its shipped defaults: one host opens unfinished 1024-byte Block1 uploads from 300
/// source ports over coap:// (to the EST resources and to the diagnostic /test, which takes anyone's body) and from a few
/// anonymous DTLS sessions; while it holds them, a device enrolls over coaps:// with a 1,850-byte CSR in 1024-byte blocks.
/// </summary>
public class BlockWiseExhaustionTests
{
    private const int Ports = 300;
    private const int AnonymousSessions = 3;

    // Up to 64 blocks of 1024 bytes per transfer: MaxRequestBodySize (64 KiB), and four transfers per port (MaxTransfersPerPeer)
    // from 300 ports are more than the 64 MiB that reassembly holds in total.
    private const int Rounds = 64;
    private static readonly string[] s_paths = [".well-known/est/sen", ".well-known/est/sren", ".well-known/est/skg", "test"];
    // Ports sending at once: all 300 at once overflow the socket buffers of loopback, which only makes the test slower.
    private const int PortsAtOnce = 32;
    // A block is sent again after 1, 2, 4, 8 and 16 s, as CoAP backs off (RFC 7252 §4.2): in a loaded full-suite run an
    // answer can take longer than a fixed second, and a block given up too early is not the refusal this test asserts.
    private const int Attempts = 5;
    private static readonly TimeSpan s_answerTimeout = TimeSpan.FromSeconds(1);

    [Fact]
    [Trait("Needs", "block-wise")]
    public async Task OneHostOn300Ports_CannotExhaustReassembly_AndADeviceEnrollsMeanwhile()
    {
        await using var server = await InProcessServer.StartAsync();
        var remote = new IPEndPoint(IPAddress.Loopback, server.Port);

        // The stranger: every port runs its four transfers round by round until each is refused, without ever finishing one.
        using var sending = new SemaphoreSlim(PortsAtOnce);
        var strangers = Enumerable.Range(0, Ports).Select(_ => Task.Run(async () =>
        {
            await sending.WaitAsync();
            try
            {
                return await HoldTransfersAsync(remote);
            }
            finally
            {
                sending.Release();
            }
        })).ToArray();
        var sessions = Enumerable.Range(0, AnonymousSessions).Select(_ => Task.Run(() => AnonymousFirstBlockAsync(server))).ToArray();
        var answers = (await Task.WhenAll(strangers)).SelectMany(port => port).ToList();
        CoapMessage[] anonymous = await Task.WhenAll(sessions);

        // Meanwhile (its transfers are held for EXCHANGE_LIFETIME): the device, over coaps://, in 1024-byte blocks.
        using var device = X509Certificate2.CreateFromPemFile(server.DemoDeviceCertificateFile, server.DemoDeviceKeyFile);
        var dtls = new DtlsClientOptions { ClientCertificate = device, ServerName = "localhost", PathMtu = 1280 };
        dtls.ServerCertificateTrustAnchors.Add(X509CertificateLoader.LoadCertificateFromFile(server.TrustAnchorFile));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var channel = await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, dtls, timeout.Token);
        Assert.True(channel.MaxDatagramSize >= 1200, $"a 1024-byte block with its options must fit one record ({channel.MaxDatagramSize} bytes)");
        var options = new EstClientOptions { MaxPendingWait = TimeSpan.Zero };
        options.Coap.BlockSize = 1024;
        await using var client = new EstCoapsClient(channel, options);
        using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        byte[] csr = client.CreateCsr(new X500DistinguishedName("CN=demo-device-1"), key,
            request => request.CertificateExtensions.Add(new X509Extension("1.3.6.1.4.1.55555.19.3", new byte[1540], critical: false)));
        Assert.InRange(csr.Length, 1800, 1900);

        X509Certificate2 issued;
        try
        {
            issued = await client.EnrollAsync(csr, cancellationToken: timeout.Token);
        }
        catch (EstRequestException ex)
        {
            throw new Xunit.Sdk.XunitException($"The device's /sen was refused while the stranger held its transfers: {ex.Message}; "
                + $"the stranger's answers: {Describe(answers)}");
        }

        Assert.Equal("CN=demo-device-1", issued.Subject);

        // What the stranger got: every EST upload refused at its first block, plain and anonymous alike: 4.01 from the check, or
        // 4.29 while its address already had Coap:Endpoint:MaxRequestsInProgressPerAddress checks in progress (the check runs on
        // the thread pool); and /test bodies only up to its address's share (MaxUnauthenticatedReassemblyBytesPerAddress, 16 KiB).
        var est = answers.Where(a => a.Path != "test").ToList();
        Assert.True(est.Count == Ports * 3, $"{Ports * 3} EST first blocks were sent, {est.Count} answered: {Describe(answers)}");
        Assert.All(est, a => Assert.Contains((a.Code, a.Number), new[] { (CoapCode.Unauthorized, 0), (CoapCode.TooManyRequests, 0) }));
        Assert.Contains(est, a => a.Code == CoapCode.Unauthorized);
        Assert.All(anonymous, a => Assert.Contains(a.Code, new[] { CoapCode.Unauthorized, CoapCode.TooManyRequests }));
        int heldBlocks = answers.Count(a => a.Code == CoapCode.Continue);
        Assert.True(heldBlocks is >= 1 and <= 16, $"{heldBlocks} blocks answered 2.31 Continue for one address, which may hold 16; "
            + $"per port, the /test blocks answered (port: NUM code after attempt): {DescribeHeld(answers)}");
    }

    private static string Describe(List<(string Path, int Number, CoapCode Code, int Port, int Attempt)> answers) =>
        string.Join(", ", answers.GroupBy(a => (a.Path, a.Code)).Select(g => $"{g.Key.Path} {g.Key.Code} ×{g.Count()}"));

    // The held-blocks count has exceeded 16 once in a loaded full-suite run and never alone; this says which ports held what.
    private static string DescribeHeld(List<(string Path, int Number, CoapCode Code, int Port, int Attempt)> answers) =>
        string.Join("; ", answers.Where(a => a.Path == "test").GroupBy(a => a.Port).Where(g => g.Any(a => a.Code == CoapCode.Continue))
            .Select(g => $"{g.Key}: " + string.Join(" ", g.Select(a => $"{a.Number} {a.Code} #{a.Attempt}"))));

    /// <summary>
    /// From one new source port: a transfer to each of <see cref="s_paths"/>, block after block (NUM 0, 1, ..., M=1, no Size1)
    /// while the server answers 2.31; returns every answer with the path and block it answered.
    /// </summary>
    private static async Task<List<(string Path, int Number, CoapCode Code, int Port, int Attempt)>> HoldTransfersAsync(IPEndPoint remote)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var answers = new List<(string Path, int Number, CoapCode Code, int Port, int Attempt)>();
        int port = ((IPEndPoint)socket.LocalEndPoint!).Port;
        var live = new List<int>(Enumerable.Range(0, s_paths.Length));
        byte[] payload = RandomNumberGenerator.GetBytes(1024);
        byte[] buffer = new byte[2048];
        ushort messageId = (ushort)Random.Shared.Next(ushort.MaxValue);
        for (int number = 0; number < Rounds && live.Count > 0; number++)
        {
            // Each block is a CON sent again with its message ID until answered, as CoAP retransmits (RFC 7252 §4.2).
            var pending = new Dictionary<ushort, (int Transfer, byte[] Datagram)>();
            foreach (int transfer in live)
            {
                string path = s_paths[transfer];
                CoapMessage block = CoapMessage.CreateRequest(CoapCode.Post, "/" + path)
                    .WithContentFormat(path == "test" ? CoapContentFormat.TextPlain : CoapContentFormat.Pkcs10)
                    .WithBlock1(new BlockOption(number, true, 6))
                    .WithPayload(payload) with { MessageId = ++messageId, Token = new byte[] { (byte)transfer } };
                pending[messageId] = (transfer, CoapMessageEncoder.Encode(block));
            }

            for (int attempt = 0; attempt < Attempts && pending.Count > 0; attempt++)
            {
                foreach (var (_, datagram) in pending.Values)
                {
                    await socket.SendToAsync(datagram, SocketFlags.None, remote);
                }

                using var wait = new CancellationTokenSource(s_answerTimeout * (1 << attempt));
                while (pending.Count > 0)
                {
                    int length;
                    try
                    {
                        length = await socket.ReceiveAsync(buffer, SocketFlags.None, wait.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }

                    if (CoapMessageDecoder.TryDecode(buffer.AsMemory(0, length).ToArray(), out CoapMessage? reply) != CoapDecodeStatus.Success || reply!.IsEmpty)
                    {
                        // An empty ACK: the answer follows as a separate response (the server sends one when its answer
                        // takes longer than Coap:Endpoint:SeparateResponseDelay, as it can in a loaded full-suite run).
                        continue;
                    }

                    ushort? answeredId = reply.MessageId;
                    if (reply.Type == CoapMessageType.Confirmable)
                    {
                        // A separate response (RFC 7252 §5.2.2): acknowledged, and matched to its block by token and, for a
                        // 2.31, by the block number it echoes (a late copy of an earlier block's answer is not this block's).
                        await socket.SendToAsync(CoapMessageEncoder.Encode(CoapMessage.CreateEmpty(CoapMessageType.Acknowledgement, reply.MessageId)),
                            SocketFlags.None, remote);
                        answeredId = reply.Token.Length == 1 && (reply.Block1 is not { } echoed || echoed.Number == number)
                            ? PendingIdOf(pending, reply.Token.Span[0])
                            : null;
                    }

                    if (answeredId is { } id && pending.Remove(id, out var answered))
                    {
                        answers.Add((s_paths[answered.Transfer], number, reply.Code, port, attempt));
                        if (reply.Code != CoapCode.Continue)
                        {
                            live.Remove(answered.Transfer);
                        }
                    }
                }
            }

            // A block never answered ends its transfer here, as it would for a real client.
            foreach (var (transfer, _) in pending.Values)
            {
                live.Remove(transfer);
            }
        }

        return answers;
    }

    /// <summary>The message ID under which the block of <paramref name="transfer"/> waits for its answer, if it does.</summary>
    private static ushort? PendingIdOf(Dictionary<ushort, (int Transfer, byte[] Datagram)> pending, int transfer)
    {
        foreach (var (id, block) in pending)
        {
            if (block.Transfer == transfer)
            {
                return id;
            }
        }

        return null;
    }

    /// <summary>The first 1024-byte block of a /sen from a DTLS session without a client certificate.</summary>
    private static async Task<CoapMessage> AnonymousFirstBlockAsync(InProcessServer server)
    {
        var dtls = new DtlsClientOptions { ServerName = "localhost", PathMtu = 1280 };
        dtls.ServerCertificateTrustAnchors.Add(X509CertificateLoader.LoadCertificateFromFile(server.TrustAnchorFile));
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await using DtlsClientChannel channel = await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, dtls, timeout.Token);
        await using var coap = new CoapClient(channel);
        CoapMessage block = CoapMessage.CreateRequest(CoapCode.Post, "/.well-known/est/sen")
            .WithContentFormat(CoapContentFormat.Pkcs10)
            .WithBlock1(new BlockOption(0, true, 6))
            .WithPayload(RandomNumberGenerator.GetBytes(1024));
        return await coap.SendAsync(block, channel.RemoteEndPoint, timeout.Token);
    }
}
