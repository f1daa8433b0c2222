using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// <see cref="CmpProtectionKey"/>: signs through a <see cref="CaSigningKey"/> lease (borrowed for each signature and given back,
/// also when signing fails), puts the certificate first in extraCerts with its chain, and refuses a key that is not the
/// certificate's or a certificate whose KeyUsage excludes digitalSignature.
/// </summary>
public sealed class CmpProtectionKeyTests
{
    [Fact]
    public async Task Protect_SignsWithTheLeasedKey_ReleasesTheLease_ExtraCertsOnceInOrder()
    {
        using X509Certificate2 ca = CreateCa("CN=Protection CA", X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyCertSign);
        using X509Certificate2 parent = CreateCa("CN=Parent CA", X509KeyUsageFlags.KeyCertSign);
        using X509Certificate2 issued = CreateCa("CN=Issued", X509KeyUsageFlags.DigitalSignature);
        using var key = new CountingKey(new FileCaSigningKey(ca));
        var protection = new CmpProtectionKey(ca, [parent], key);

        PkiMessage signed = await protection.ProtectAsync(Message(ca), [issued, parent, ca], CancellationToken.None);

        Assert.Equal((1, 1), (key.Acquired, key.Released));
        Assert.True(CmpProtection.VerifySignature(signed, ca).IsValid);
        Assert.False(CmpProtection.VerifySignature(signed, parent).IsValid);
        Assert.Equal([ca.RawData, parent.RawData, issued.RawData], signed.ExtraCerts!.Select(c => c.ToArray()));
        Assert.Equal(ca.Extensions.OfType<X509SubjectKeyIdentifierExtension>().Single().SubjectKeyIdentifierBytes.ToArray(), protection.KeyId);
    }

    [Fact]
    public async Task Protect_KeyUnavailable_Throws_NothingLeased()
    {
        using X509Certificate2 ca = CreateCa("CN=Protection CA", X509KeyUsageFlags.DigitalSignature);
        using var key = new CountingKey(new FileCaSigningKey(ca)) { Unavailable = true };
        var protection = new CmpProtectionKey(ca, [], key);

        await Assert.ThrowsAsync<CaKeyUnavailableException>(async () => await protection.ProtectAsync(Message(ca), [], CancellationToken.None));
        Assert.Equal((0, 0), (key.Acquired, key.Released));
    }

    [Fact]
    public void Refuses_AnotherCertificatesKey_NoDigitalSignature_NoPrivateKey()
    {
        using X509Certificate2 ca = CreateCa("CN=Protection CA", X509KeyUsageFlags.DigitalSignature);
        using X509Certificate2 other = CreateCa("CN=Other", X509KeyUsageFlags.DigitalSignature);
        using X509Certificate2 signOnly = CreateCa("CN=Certificate signer", X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign);
        using var otherKey = new FileCaSigningKey(other);
        using var signOnlyKey = new FileCaSigningKey(signOnly);
        using X509Certificate2 publicOnly = X509CertificateLoader.LoadCertificate(ca.RawData);

        Assert.Contains("is not the key of", Assert.Throws<ArgumentException>(() => new CmpProtectionKey(ca, [], otherKey)).Message, StringComparison.Ordinal);
        Assert.Contains("excludes digitalSignature", Assert.Throws<ArgumentException>(() => new CmpProtectionKey(signOnly, [], signOnlyKey)).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => CmpProtectionKey.FromCredential(publicOnly, []));
        Assert.False(CmpProtectionKey.AllowsSignatures(signOnly));
        Assert.True(CmpProtectionKey.AllowsSignatures(ca));
    }

    private static PkiMessage Message(X509Certificate2 sender) => CmpRequests.General(
        CmpRequests.Header(sender.SubjectName, null, null, RandomNumberGenerator.GetBytes(16)), CmpInfoTypes.CrlStatusList);

    private static X509Certificate2 CreateCa(string subject, X509KeyUsageFlags usage)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509KeyUsageExtension(usage, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }

    /// <summary>A key that counts its leases and may be made unreachable, as a lost token.</summary>
    private sealed class CountingKey(CaSigningKey inner) : CaSigningKey
    {
        private int _acquired;
        private int _released;

        public bool Unavailable { get; init; }

        public int Acquired => _acquired;

        public int Released => _released;

        public override PublicKey PublicKey => inner.PublicKey;

        public override string Description => "counting " + inner.Description;

        public override async ValueTask<CaSigningLease> AcquireAsync(CancellationToken cancellationToken)
        {
            if (Unavailable)
            {
                throw new CaKeyUnavailableException("the test token is removed");
            }

            CaSigningLease lease = await inner.AcquireAsync(cancellationToken);
            Interlocked.Increment(ref _acquired);
            return new CaSigningLease(lease.Key, lease.RsaPadding, () =>
            {
                Interlocked.Increment(ref _released);
                lease.Dispose();
            });
        }
    }
}
