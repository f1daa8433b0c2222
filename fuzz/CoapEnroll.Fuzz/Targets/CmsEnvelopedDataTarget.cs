using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Cmp;
using CoapEnroll.Est;
using CoapEnroll.Pkix;

namespace CoapEnroll.Fuzz;

/// <summary>
/// CMS EnvelopedData (RFC 5652 §6) as EST-coaps and CMP clients open server-generated keys: through a KEKRecipientInfo,
/// a KeyTransRecipientInfo (RSA), a KeyAgreeRecipientInfo (ECDH) and a PasswordRecipientInfo, and for the first three the
/// signed AsymmetricKeyPackage inside (RFC 7030 §4.4.2). Every refusal is a <see cref="CryptographicException"/>.
/// </summary>
internal sealed class CmsEnvelopedDataTarget : IFuzzTarget
{
    internal static readonly byte[] KeyIdentifier = "fuzz-kek"u8.ToArray();
    internal static readonly byte[] Kek = [.. Enumerable.Range(0x10, 16).Select(i => (byte)i)];
    internal static readonly byte[] Password = "fuzz-password"u8.ToArray();
    private static readonly X509Certificate2[] Anchors = [FuzzKeys.Ca];
    private static readonly X509Certificate2[] Signers = [FuzzKeys.Device];
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly RSA RsaKey = FuzzKeys.Rsa.GetRSAPrivateKey()!;

    public string Name => "cms-enveloped";

    public string Description => "CmsKeyEncryptionKey/CmsKeyTransport/CmsKeyAgreement/CmsPasswordRecipient.Decrypt, ServerGeneratedKeyEnvelope.Open";

    public void Run(ReadOnlySpan<byte> input)
    {
        Refused(input, static der => ServerGeneratedKeyEnvelope.Open(der, KeyIdentifier, Kek, Anchors, [], Signers, Now));
        Refused(input, static der => ServerGeneratedKeyEnvelope.Open(der, RsaKey, FuzzKeys.Rsa, Anchors, [], Signers, Now));
        Refused(input, static der => ServerGeneratedKeyEnvelope.Open(der, FuzzKeys.DeviceEcdh, FuzzKeys.Device, Anchors, [], Signers, Now));
        Refused(input, static der => CmsPasswordRecipient.Decrypt(der, Password, out _));
    }

    private delegate byte[] Opener(ReadOnlySpan<byte> der);

    private static void Refused(ReadOnlySpan<byte> input, Opener open)
    {
        try
        {
            CryptographicOperations.ZeroMemory(open(input));
        }
        catch (CryptographicException)
        {
        }
    }
}
