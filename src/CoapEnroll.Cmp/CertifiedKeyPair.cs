using System.Formats.Asn1;

namespace CoapEnroll.Cmp;

/// <summary>CertifiedKeyPair: the certificate (or encryptedCert), privateKey and publicationInfo, each kept as DER.</summary>
public sealed class CertifiedKeyPair
{
    /// <summary>certOrEncCert certificate [0]: the certificate's DER.</summary>
    public ReadOnlyMemory<byte>? Certificate { get; init; }

    /// <summary>certOrEncCert encryptedCert [1]: the EncryptedKey's DER.</summary>
    public ReadOnlyMemory<byte>? EncryptedCertificate { get; init; }

    /// <summary>privateKey [0]: the EncryptedKey's DER (central key generation).</summary>
    public ReadOnlyMemory<byte>? PrivateKey { get; init; }

    /// <summary>publicationInfo [1]: the PKIPublicationInfo's DER.</summary>
    public ReadOnlyMemory<byte>? PublicationInfo { get; init; }

    internal static CertifiedKeyPair Read(AsnReader reader)
    {
        AsnReader seq = reader.ReadSequence();
        ReadOnlyMemory<byte>? cert = null, encCert = null, key = null, pub = null;
        if (CmpDer.PeekIsContext(seq, 0))
        {
            cert = CmpDer.ReadExplicitValue(seq, 0);
            if (cert.Value.Span[0] != 0x30)
            {
                throw new AsnContentException("certificate is not a SEQUENCE");
            }
        }
        else
        {
            encCert = CmpDer.ReadExplicitValue(seq, 1);
        }

        if (CmpDer.PeekIsContext(seq, 0))
        {
            key = CmpDer.ReadExplicitValue(seq, 0);
        }

        if (CmpDer.PeekIsContext(seq, 1))
        {
            pub = CmpDer.ReadExplicitValue(seq, 1);
        }

        seq.ThrowIfNotEmpty();
        return new CertifiedKeyPair { Certificate = cert, EncryptedCertificate = encCert, PrivateKey = key, PublicationInfo = pub };
    }

    internal void WriteTo(AsnWriter writer)
    {
        writer.PushSequence();
        if (Certificate is { } c)
        {
            CmpDer.WriteExplicitValue(writer, 0, c);
        }
        else
        {
            CmpDer.WriteExplicitValue(writer, 1, EncryptedCertificate ?? throw new InvalidOperationException("neither certificate nor encryptedCert"));
        }

        if (PrivateKey is { } k)
        {
            CmpDer.WriteExplicitValue(writer, 0, k);
        }

        if (PublicationInfo is { } p)
        {
            CmpDer.WriteExplicitValue(writer, 1, p);
        }

        writer.PopSequence();
    }
}
