using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Cmp;

namespace CoapEnroll.Fuzz;

/// <summary>
/// A PKIMessage (RFC 9810, the Lightweight CMP Profile RFC 9483) as the CMP server reads it: strict DER decoding, MAC and
/// signature protection checks, extraCerts, and CRMF (RFC 4211) or PKCS#10 requests converted and validated as the CA
/// validates them. Decoding and protection checks report through their results, never by throwing.
/// </summary>
internal sealed class CmpTarget : IFuzzTarget
{
    // The server's own policy allows up to 100,000 iterations; the fuzz policy caps them lower only to keep runs fast.
    private static readonly CmpMacPolicy MacPolicy = new() { MinIterations = 1, MaxIterations = 1000, AllowHmacSha1 = true, MinSaltLength = 0 };
    private static readonly byte[] Secret = "fuzz-shared-secret"u8.ToArray();

    public string Name => "cmp";

    public string Description => "PkiMessageCodec.Decode, CmpProtection.VerifyMac/VerifySignature, CrmfRequests.Convert, PKCS#10 in p10cr";

    public void Run(ReadOnlySpan<byte> input)
    {
        CmpDecodeResult decoded = PkiMessageCodec.Decode(input);
        if (!decoded.IsSuccess)
        {
            if (decoded.Message is not null || decoded.Reason is null)
            {
                throw new FuzzInvariantException($"a failed decode ({decoded.Status}) with a message or without a reason");
            }

            return;
        }

        PkiMessage message = decoded.Message!;
        if (!PkiMessageCodec.Encode(message).AsSpan().SequenceEqual(input))
        {
            throw new FuzzInvariantException("an accepted PKIMessage encodes differently");
        }

        switch (CmpProtection.GetKind(message))
        {
            case CmpProtectionKind.PasswordBasedMac or CmpProtectionKind.Pbmac1:
                CmpProtection.VerifyMac(message, Secret, MacPolicy);
                break;
            case CmpProtectionKind.Signature when message.ExtraCerts is [var first, ..]:
                X509Certificate2 signer;
                try
                {
                    signer = X509CertificateLoader.LoadCertificate(first.Span);
                }
                catch (CryptographicException)
                {
                    break;
                }

                using (signer)
                {
                    CmpProtection.VerifySignature(message, signer);
                }

                break;
        }

        switch (message.Body)
        {
            case CertReqMessagesBody requests:
                foreach (CertReqMsg request in requests.Requests)
                {
                    CrmfConversion conversion = CrmfRequests.Convert(request);
                    if (conversion.IsSuccess != conversion.Request is not null)
                    {
                        throw new FuzzInvariantException($"a CRMF conversion that says {conversion.Failure} with request {conversion.Request is not null}");
                    }

                    if (conversion.Request is { } converted)
                    {
                        Pkcs10Target.Check(converted);
                    }
                }

                break;
            case P10crBody p10:
                if (CertificationRequest.DecodePkcs10(p10.CertificationRequest, out CertificationRequest? pkcs10, out _) == CertificationRequestDecodeStatus.Decoded)
                {
                    Pkcs10Target.Check(pkcs10!);
                }

                break;
        }
    }
}
