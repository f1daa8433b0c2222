using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using static CoapEnroll.Cmp.Tests.Protection.ProtectionTestData;

namespace CoapEnroll.Cmp.Tests.Protection;

public sealed class CmpProtectionFuzzTests
{
    [Fact]
    public void CorruptedProtectedMessagesNeverThrowAndNeverVerify()
    {
        using X509Certificate2 ec = EcCert(ECCurve.NamedCurves.nistP256, "dev");
        using X509Certificate2 rsa = RsaCert("dev");
        byte[][] messages =
        [
            PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(Unprotected(), "k"u8, CmpMacParameters.PasswordBasedMac())),
            PkiMessageCodec.Encode(CmpProtection.ProtectWithMac(Unprotected(), "k"u8, CmpMacParameters.Pbmac1(1000))),
            PkiMessageCodec.Encode(CmpProtection.ProtectWithSignature(Unprotected(), ec, [])),
            PkiMessageCodec.Encode(CmpProtection.ProtectWithSignature(Unprotected(), rsa, [])),
        ];
        var policy = new CmpMacPolicy();
        var random = new Random(7);
        int decoded = 0;
        foreach (byte[] original in messages)
        {
            PkiMessage intact = PkiMessageCodec.Decode(original).Message!;
            for (int i = 0; i < 400; i++)
            {
                byte[] der = (byte[])original.Clone();
                int changes = 1 + random.Next(3);
                for (int c = 0; c < changes; c++)
                {
                    der[random.Next(der.Length)] ^= (byte)(1 + random.Next(255));
                }

                CmpDecodeResult r = PkiMessageCodec.Decode(der);
                if (!r.IsSuccess)
                {
                    continue;
                }

                if (r.Message.GetProtectedPart().AsSpan().SequenceEqual(intact.GetProtectedPart())
                    && r.Message.Protection is { } protection && protection.Span.SequenceEqual(intact.Protection!.Value.Span))
                {
                    continue; // only extraCerts changed: they are outside the protection (RFC 9810 §5.1)
                }

                decoded++;
                Assert.False(CmpProtection.VerifyMac(r.Message, "k"u8, policy).IsValid);
                Assert.False(CmpProtection.VerifySignature(r.Message, ec).IsValid);
                Assert.False(CmpProtection.VerifySignature(r.Message, rsa).IsValid);
                _ = CmpProtection.GetKind(r.Message);
            }
        }

        Assert.True(decoded > 100, $"only {decoded} corrupted messages still decoded");
    }
}
