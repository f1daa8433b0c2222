using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace CoapEnroll.Ca.Tests;

/// <summary><see cref="RootCaKeyUpdate"/>: the three certificates of RFC 9810 §4.4, and the checks that load them.</summary>
public sealed class RootCaKeyUpdateTests
{
    private static readonly DateTimeOffset s_now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Create_MakesNewWithNew_AndLinkCertificates_WithTheRightKeysNamesAndValidity()
    {
        using ECDsa oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 old = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Root,O=Test"), oldKey, s_now.AddYears(-1), s_now.AddYears(9), null)
            .CopyWithPrivateKey(oldKey);

        RootCaKeyUpdate update = RootCaKeyUpdate.Create(old, newKey, s_now);

        Assert.Equal(old.SubjectName.RawData, update.NewWithNew.SubjectName.RawData);
        Assert.Equal(update.NewWithNew.SubjectName.RawData, update.NewWithNew.IssuerName.RawData);
        Assert.Equal(newKey.ExportSubjectPublicKeyInfo(), update.NewWithNew.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(newKey.ExportSubjectPublicKeyInfo(), update.NewWithOld.PublicKey.ExportSubjectPublicKeyInfo());
        Assert.Equal(oldKey.ExportSubjectPublicKeyInfo(), update.OldWithNew.PublicKey.ExportSubjectPublicKeyInfo());
        // newWithNew lives as long as the old root did; both links end with the old root (RFC 9810 §4.4.1).
        Assert.Equal(old.NotAfter - old.NotBefore, update.NewWithNew.NotAfter - update.NewWithNew.NotBefore);
        Assert.Equal(old.NotAfter, update.NewWithOld.NotAfter);
        Assert.Equal(old.NotAfter, update.OldWithNew.NotAfter);
        Assert.True(update.OldWithNew.Extensions.OfType<X509BasicConstraintsExtension>().Single().CertificateAuthority);

        Assert.NotNull(RootCaKeyUpdate.TryLoad(old, update.NewWithNew, update.NewWithOld, update.OldWithNew, out string? problem));
        Assert.Null(problem);
    }

    [Fact]
    public void TryLoad_RefusesCertificatesThatDoNotFitTogether_NamingWhich()
    {
        using ECDsa oldKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using ECDsa otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using X509Certificate2 old = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Root"), oldKey, s_now.AddYears(-1), s_now.AddYears(9), null)
            .CopyWithPrivateKey(oldKey);
        using X509Certificate2 other = CertificateFactory.CreateSelfSignedCa(new X500DistinguishedName("CN=Root"), otherKey, s_now.AddYears(-1), s_now.AddYears(9), null)
            .CopyWithPrivateKey(otherKey);
        using ECDsa newKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        RootCaKeyUpdate update = RootCaKeyUpdate.Create(old, newKey, s_now);
        RootCaKeyUpdate foreign = RootCaKeyUpdate.Create(other, newKey, s_now);

        Assert.Null(RootCaKeyUpdate.TryLoad(old, update.NewWithOld, update.NewWithOld, update.OldWithNew, out string? notSelfSigned));
        Assert.Equal("newWithNew is not self-signed", notSelfSigned);
        Assert.Null(RootCaKeyUpdate.TryLoad(old, update.NewWithNew, foreign.NewWithOld, update.OldWithNew, out string? wrongSigner));
        Assert.Equal("newWithOld is not signed by the current root's key", wrongSigner);
        Assert.Null(RootCaKeyUpdate.TryLoad(other, update.NewWithNew, update.NewWithOld, update.OldWithNew, out string? wrongRoot));
        Assert.Equal("newWithOld is not signed by the current root's key", wrongRoot);
        Assert.Null(RootCaKeyUpdate.TryLoad(old, update.NewWithNew, update.NewWithOld, foreign.OldWithNew, out string? wrongOld));
        Assert.Equal("oldWithNew does not carry the current root's name and key", wrongOld);
    }
}
