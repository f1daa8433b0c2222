using System.Runtime.CompilerServices;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cli.Tests.Infrastructure;
using CoapEnroll.Coap;
using CoapEnroll.Dtls;
using CoapEnroll.Est;
using CoapEnroll.Transport;

namespace CoapEnroll.Cli.Tests;

/// <summary>
/// The serve host on its shipped defaults keeps serving every peer while one peer floods it: what a bound costs falls on
/// the peer that exceeds it.
/// </summary>
public class AvailabilityTests
{
    // The flood lasts until the server has answered FloodAnswers of its requests (more than the 100,000 entries a global
    // duplicate table would hold within MAX_TRANSMIT_SPAN), or at most s_flood. The count is what the test needs, not a speed:
    // s_flood is long enough for a heavily loaded 2-core machine (80,000 answers in 20 s were seen at load 30); an idle one
    // stops after a few seconds.
    private const int FloodAnswers = 120_000;
    private const int FloodWindow = 256;
    private static readonly TimeSpan s_flood = TimeSpan.FromSeconds(90);

    [Fact]
    [Trait("Needs", "core")]
    public async Task OneFloodingPeer_EveryOtherPeerAndEnrollmentIsStillServed()
    {
        await using var server = await InProcessServer.StartAsync();
        var remote = new IPEndPoint(IPAddress.Loopback, server.Port);
        using var flooding = new CancellationTokenSource(s_flood);

        // One host floods from three ports: one port alone repeats its message IDs after 65,536 requests, and a repeated
        // ID within EXCHANGE_LIFETIME is a duplicate answered from the cache, not a new exchange.
        var floodAnswers = new StrongBox<long>();
        var floods = Enumerable.Range(0, 3).Select(_ => Task.Run(() => FloodAsync(remote, floodAnswers, flooding))).ToArray();

        // Meanwhile, other peers (each its own socket) ask one by one; none may be refused or lost for good.
        var others = Enumerable.Range(0, 6).Select(_ => Task.Run(async () =>
        {
            var codes = new List<CoapCode>();
            await using var client = new CoapClient(UdpDatagramChannel.BindEphemeralFor(remote));
            while (!flooding.IsCancellationRequested)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                codes.Add((await client.SendAsync(CoapMessage.CreateRequest(CoapCode.Get, "/test"), remote, timeout.Token)).Code);
            }

            return codes;
        })).ToArray();

        var enrolling = Task.Run(async () =>
        {
            using var device = X509Certificate2.CreateFromPemFile(server.DemoDeviceCertificateFile, server.DemoDeviceKeyFile);
            var dtls = new DtlsClientOptions { ClientCertificate = device, ServerName = "localhost" };
            dtls.ServerCertificateTrustAnchors.Add(X509CertificateLoader.LoadCertificateFromFile(server.TrustAnchorFile));
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await using var client = new EstCoapsClient(await DtlsClientChannel.ConnectAsync(server.SecureEndPoint, dtls, timeout.Token));
            using ECDsa key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
            return await client.EnrollAsync(new X500DistinguishedName("CN=demo-device-1"), key, cancellationToken: timeout.Token);
        });

        var flooded = await Task.WhenAll(floods);
        foreach (List<CoapCode> codes in await Task.WhenAll(others))
        {
            Assert.NotEmpty(codes);
            Assert.All(codes, code => Assert.Equal(CoapCode.Content, code));
        }

        Assert.Equal("CN=demo-device-1", (await enrolling).Subject);

        // The flooder itself is served too (as fast as the server can), never told 5.03.
        Assert.True(floodAnswers.Value >= FloodAnswers, $"the server answered only {floodAnswers.Value} flood requests in {s_flood.TotalSeconds} s");
        Assert.All(flooded, codes => Assert.Equal([CoapCode.Content], codes.Keys));
    }

    /// <summary>
    /// CON GETs from one socket as fast as the server answers (up to <see cref="FloodWindow"/> unanswered, more only fills
    /// socket buffers), each with a message ID of its own; counts the answers' codes, and stops every flood once
    /// <paramref name="answers"/> (shared) reaches <see cref="FloodAnswers"/>.
    /// </summary>
    private static async Task<Dictionary<CoapCode, long>> FloodAsync(IPEndPoint remote, StrongBox<long> answers, CancellationTokenSource flooding)
    {
        CancellationToken stop = flooding.Token;
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var codes = new Dictionary<CoapCode, long>();
        using var window = new SemaphoreSlim(FloodWindow);
        var receiving = Task.Run(async () =>
        {
            byte[] buffer = new byte[2048];
            try
            {
                while (true)
                {
                    int length = await socket.ReceiveAsync(buffer, SocketFlags.None, stop);
                    if (CoapMessageDecoder.TryDecode(buffer.AsMemory(0, length).ToArray(), out CoapMessage? reply) == CoapDecodeStatus.Success && !reply!.IsEmpty)
                    {
                        codes[reply.Code] = codes.GetValueOrDefault(reply.Code) + 1;
                        window.Release();
                        if (Interlocked.Increment(ref answers.Value) >= FloodAnswers)
                        {
                            await flooding.CancelAsync();
                        }
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);

        byte[] token = [1, 2, 3, 4];
        for (int mid = 0; mid <= ushort.MaxValue && !stop.IsCancellationRequested; mid++)
        {
            try
            {
                // A lost request or answer frees its place after a while instead of stalling the flood.
                await window.WaitAsync(TimeSpan.FromMilliseconds(200), stop);
            }
            catch (OperationCanceledException)
            {
                break;
            }

            byte[] request = CoapMessageEncoder.Encode(CoapMessage.CreateRequest(CoapCode.Get, "/test") with { MessageId = (ushort)mid, Token = token });
            await socket.SendToAsync(request, SocketFlags.None, remote, CancellationToken.None);
        }

        // Out of message IDs: keep counting answers until the flood as a whole ends.
        await receiving;
        return codes;
    }
}
