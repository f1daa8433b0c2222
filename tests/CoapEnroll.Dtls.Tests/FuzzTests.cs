using System.Net;
using System.Security.Cryptography;

namespace CoapEnroll.Dtls.Tests;

/// <summary>Seeded random mutation of valid inputs; the parsers must never throw.</summary>
public class FuzzTests
{
    private static byte[] Mutate(Random random, byte[] input)
    {
        byte[] data = (byte[])input.Clone();
        switch (random.Next(5))
        {
            case 0:
                data[random.Next(data.Length)] = (byte)random.Next(256);
                break;
            case 1:
                data[random.Next(data.Length)] ^= (byte)(1 << random.Next(8));
                break;
            case 2:
                data = data[..random.Next(data.Length)];
                break;
            case 3:
                data = [.. data, .. RandomNumberGenerator.GetBytes(random.Next(1, 8))];
                break;
            default:
                for (int i = 0; i < 4; i++)
                {
                    data[random.Next(data.Length)] = (byte)random.Next(256);
                }

                break;
        }

        return data;
    }

    [Fact]
    public void RecordLayer_NoExceptions()
    {
        var random = new Random(20240601);
        using var p = DtlsRecordProtection.Create(CipherSuiteInfo.Get(CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8), new byte[16], new byte[4]);
        byte[] datagram = new byte[300];
        int n = DtlsRecordCodec.WritePlaintextRecord(datagram, ContentType.Handshake, 0, new byte[40]);
        n += p.Seal(datagram.AsSpan(n), ContentType.ApplicationData, 1, 1, new byte[30], [1, 2, 3, 4], 2);
        n += p.Seal(datagram.AsSpan(n), ContentType.Alert, 1, 2, new byte[2]);
        byte[] seed = datagram[..n];
        byte[] output = new byte[DtlsRecordCodec.MaxCiphertextLength];
        for (int i = 0; i < 20_000; i++)
        {
            byte[] data = Mutate(random, seed);
            var reader = new DtlsRecordReader(data, random.Next(2) == 0 ? 4 : 0);
            while (reader.TryRead(out DtlsRecord record))
            {
                if (record.Epoch > 0)
                {
                    p.TryOpen(record, output, out _, out _);
                }
                else
                {
                    ReadOnlySpan<byte> payload = record.Payload;
                    while (HandshakeHeader.TryRead(payload, out _, out _, out int used))
                    {
                        payload = payload[used..];
                    }
                }
            }
        }
    }

    [Fact]
    public void HandshakeParsers_NoExceptions()
    {
        var random = new Random(777);
        using EcdheKeyExchange kx = EcdheKeyExchange.Create();
        byte[][] seeds =
        [
            new ClientHello
            {
                Random = new byte[32], Cookie = new byte[32],
                CipherSuites = [CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8],
                Extensions = [TlsExtensions.SupportedGroups(NamedGroup.Secp256r1), TlsExtensions.ConnectionId([1]), TlsExtensions.ServerName("a.b")],
            }.Encode(),
            new ServerHello { CipherSuite = CipherSuite.TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8, Extensions = [TlsExtensions.ExtendedMasterSecret()] }.Encode(),
            new HelloVerifyRequest { Cookie = new byte[32] }.Encode(),
            new CertificateMessage { Certificates = [new byte[50], new byte[20]] }.Encode(),
            new EcdheServerKeyExchange { PublicPoint = kx.PublicPoint, Signature = new byte[70] }.Encode(),
            new CertificateRequest { CertificateAuthorities = [new byte[10]] }.Encode(),
            new EcdheClientKeyExchange { PublicPoint = kx.PublicPoint }.Encode(),
            new PskClientKeyExchange { Identity = new byte[9] }.Encode(),
            new CertificateVerify { Signature = new byte[70] }.Encode(),
            new Finished().Encode(),
        ];
        using var cookies = new HelloCookieProtector(TimeSpan.FromMinutes(1));
        var client = new IPEndPoint(IPAddress.Loopback, 1);
        var reassembler = new HandshakeReassembler();
        byte[] shared = new byte[32];
        for (int i = 0; i < 20_000; i++)
        {
            byte[] data = Mutate(random, seeds[random.Next(seeds.Length)]);
            ClientHello.TryParse(data, out _);
            ServerHello.TryParse(data, out _);
            HelloVerifyRequest.TryParse(data, out _);
            CertificateMessage.TryParse(data, out _);
            EcdheServerKeyExchange.TryParse(data, out _);
            PskServerKeyExchange.TryParse(data, out _);
            CertificateRequest.TryParse(data, out _);
            ServerHelloDone.TryParse(data, out _);
            if (EcdheClientKeyExchange.TryParse(data, out EcdheClientKeyExchange? cke) && i % 50 == 0)
            {
                kx.TryDeriveSharedSecret(cke.PublicPoint, shared);
            }

            PskClientKeyExchange.TryParse(data, out _);
            CertificateVerify.TryParse(data, out _);
            Finished.TryParse(data, out _);
            cookies.Verify(client, data);
            cookies.TryCreateCookie(client, data, shared);
            TlsExtensions.TryParseServerName(data, out _);
            TlsExtensions.TryParseSupportedGroups(data, out _);
            if (i % 20 == 0)
            {
                DtlsSignatures.IsWellFormedSignature(data, 256);
            }

            if (HandshakeHeader.TryRead(data, out HandshakeHeader header, out ReadOnlySpan<byte> fragment, out _))
            {
                reassembler.Add(header, fragment);
                reassembler.TryTakeNext(out _);
            }
        }
    }
}
