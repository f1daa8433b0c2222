using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Dtls.Tests;

/// <summary>
/// Cross-check of the codecs against a real DTLS 1.2 server: `openssl s_server -dtls1_2 -listen` answers our
/// ClientHello1 with a HelloVerifyRequest, our ClientHello2 with its first flight; we reassemble and parse it
/// and verify the ServerKeyExchange signature. Fails when openssl is not installed, like every interop test.
/// The full handshake is the next step's interop test.
/// </summary>
public class OpenSslInteropTests
{
    private static bool Run(string file, string args, string dir)
    {
        using var p = Process.Start(new ProcessStartInfo(file, args) { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit(20_000);
        return p.ExitCode == 0;
    }

    [Fact]
    public async Task OpenSslServer_FirstFlight_ParsesAndVerifies()
    {
        Assert.True(File.Exists("/usr/bin/openssl"), "This interop test needs openssl: run bash scripts/test.sh, which installs it.");

        string dir = Directory.CreateTempSubdirectory("dtls-interop").FullName;
        Assert.True(Run("/usr/bin/openssl", "req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout k.pem -out c.pem -days 1 -subj /CN=interop", dir));
        int port;
        using (var probe = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)))
        {
            port = ((IPEndPoint)probe.Client.LocalEndPoint!).Port;
        }

        using var server = Process.Start(new ProcessStartInfo("/usr/bin/openssl",
            $"s_server -dtls1_2 -listen -accept 127.0.0.1:{port} -cert c.pem -key k.pem -cipher ECDHE-ECDSA-AES128-CCM8 -quiet")
        { WorkingDirectory = dir, RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true })!;
        try
        {
            using var udp = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
            var target = new IPEndPoint(IPAddress.Loopback, port);
            byte[] random = RandomNumberGenerator.GetBytes(32);
            ClientHello Hello(byte[] cookie) => new()
            {
                Random = random,
                Cookie = cookie,
                CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
                Extensions =
                [
                    TlsExtensions.SupportedGroups(NamedGroup.Secp256r1),
                    TlsExtensions.EcPointFormatsUncompressed(),
                    TlsExtensions.SignatureAlgorithms(SignatureScheme.EcdsaSecp256r1Sha256),
                    TlsExtensions.ExtendedMasterSecret(),
                    TlsExtensions.RenegotiationInfoInitial(),
                ],
            };

            async Task Send(ClientHello hello, ushort messageSeq, ulong recordSeq)
            {
                byte[] body = hello.Encode();
                byte[] fragment = HandshakeFragmenter.Fragment(HandshakeType.ClientHello, messageSeq, body, 1000)[0];
                byte[] datagram = new byte[1200];
                int n = DtlsRecordCodec.WritePlaintextRecord(datagram, ContentType.Handshake, recordSeq, fragment);
                await udp.SendAsync(datagram.AsMemory(0, n), target);
            }

            // HelloVerifyRequest (the server may need a moment to bind: resend until answered).
            var reassembler = new HandshakeReassembler();
            HelloVerifyRequest? hvr = null;
            for (int attempt = 0; attempt < 50 && hvr is null; attempt++)
            {
                await Send(Hello([]), 0, 0);
                using var cts = new CancellationTokenSource(200);
                try
                {
                    UdpReceiveResult result = await udp.ReceiveAsync(cts.Token);
                    Assert.Equal(RecordParseStatus.Success, DtlsRecordCodec.TryReadRecord(result.Buffer, 0, out DtlsRecord record, out _));
                    Assert.True(HandshakeHeader.TryRead(record.Payload, out HandshakeHeader h, out ReadOnlySpan<byte> f, out _));
                    Assert.Equal(HandshakeType.HelloVerifyRequest, h.Type);
                    Assert.True(HelloVerifyRequest.TryParse(f, out hvr));
                }
                catch (OperationCanceledException)
                {
                }
            }

            Assert.NotNull(hvr);
            Assert.NotEmpty(hvr.Cookie);
            await Send(Hello(hvr.Cookie), 1, 1);

            // The server's first flight continues its message_seq after the HelloVerifyRequest (RFC 6347 §4.2.2).
            var messages = new List<ReassembledHandshakeMessage>();
            var transcript = new HandshakeTranscript();
            transcript.Append(HandshakeType.ClientHello, 1, Hello(hvr.Cookie).Encode());
            reassembler.Reset(1);
            while (messages.Count == 0 || messages[^1].Type != HandshakeType.ServerHelloDone)
            {
                using var cts = new CancellationTokenSource(5000);
                UdpReceiveResult result = await udp.ReceiveAsync(cts.Token);
                var reader = new DtlsRecordReader(result.Buffer, 0);
                while (reader.TryRead(out DtlsRecord record))
                {
                    Assert.Equal(ContentType.Handshake, record.ContentType);
                    ReadOnlySpan<byte> payload = record.Payload;
                    while (!payload.IsEmpty)
                    {
                        Assert.True(HandshakeHeader.TryRead(payload, out HandshakeHeader h, out ReadOnlySpan<byte> f, out int used));
                        reassembler.Add(h, f);
                        payload = payload[used..];
                    }
                }

                Assert.Equal(RecordParseStatus.EndOfDatagram, reader.Status);
                while (reassembler.TryTakeNext(out ReassembledHandshakeMessage? m))
                {
                    messages.Add(m);
                    transcript.Append(m);
                }
            }

            Assert.Equal([HandshakeType.ServerHello, HandshakeType.Certificate, HandshakeType.ServerKeyExchange, HandshakeType.ServerHelloDone],
                messages.Select(m => m.Type));
            Assert.True(ServerHello.TryParse(messages[0].Body, out ServerHello? sh));
            Assert.Equal(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, sh.CipherSuite);
            Assert.Equal(DtlsVersion.Dtls12, sh.ServerVersion);
            Assert.NotNull(TlsExtensions.Find(sh.Extensions, ExtensionType.ExtendedMasterSecret));
            Assert.True(CertificateMessage.TryParse(messages[1].Body, out CertificateMessage? cert));
            using var leaf = X509CertificateLoader.LoadCertificate(cert.Certificates[0]);
            Assert.Equal("CN=interop", leaf.Subject);
            Assert.True(EcdheServerKeyExchange.TryParse(messages[2].Body, out EcdheServerKeyExchange? ske));
            Assert.Equal(NamedGroup.Secp256r1, ske.Group);
            using ECDsa serverKey = leaf.GetECDsaPublicKey()!;
            Assert.True(DtlsSignatures.VerifyServerKeyExchange(serverKey, ske.SignatureScheme, random, sh.Random, ske.Parameters, ske.Signature));
            Assert.False(DtlsSignatures.VerifyServerKeyExchange(serverKey, ske.SignatureScheme, sh.Random, random, ske.Parameters, ske.Signature));
            using EcdheKeyExchange kx = EcdheKeyExchange.Create();
            Assert.True(kx.TryDeriveSharedSecret(ske.PublicPoint, new byte[32]));
            Assert.True(ServerHelloDone.TryParse(messages[3].Body, out _));
        }
        finally
        {
            server.Kill();
            server.WaitForExit(5000);
            Directory.Delete(dir, recursive: true);
        }
    }
}
