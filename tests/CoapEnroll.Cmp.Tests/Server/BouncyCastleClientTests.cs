using System.Security.Cryptography;
using CoapEnroll.Ca;
using GeneralName = Org.BouncyCastle.Asn1.X509.GeneralName;
using Org.BouncyCastle.Asn1;
using Org.BouncyCastle.Asn1.Nist;
using Org.BouncyCastle.Asn1.Pkcs;
using Org.BouncyCastle.Asn1.X509;
using Org.BouncyCastle.Crypto;
using Org.BouncyCastle.Crypto.Operators;
using Org.BouncyCastle.Math;
using Org.BouncyCastle.Security;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;
using BcCmp = Org.BouncyCastle.Asn1.Cmp;
using BcCrmf = Org.BouncyCastle.Asn1.Crmf;
using BcX509Certificate = Org.BouncyCastle.X509.X509Certificate;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>
/// A second, independent CMP client drives our server end to end: BouncyCastle (test-only dependency) builds the ir with its own
/// CRMF classes and MAC, our <see cref="CmpServer"/> answers, BouncyCastle verifies the ip's protection and nonces, takes the
/// certificate, and confirms it with its own certConf, which our server answers with pkiConf.
/// </summary>
public sealed class BouncyCastleClientTests
{
    private static readonly char[] Secret = Dev1Secret.ToCharArray();

    [Fact]
    public async Task BcIr_IpVerifiedByBc_BcCertConf_PkiConf()
    {
        await using var f = await CreateAsync();
        SecureRandom random = new();
        AsymmetricCipherKeyPair keyPair = NewKeyPair(random);

        // The ir: BouncyCastle's CRMF builder with a signature POP, a PasswordBasedMac (SHA-256, HMAC-SHA256) under dev-1's secret.
        var requestBuilder = new Org.BouncyCastle.Crmf.CertificateRequestMessageBuilder(BigInteger.Zero);
        requestBuilder.SetSubjectPublicKeyInfo(Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(keyPair.Public));
        requestBuilder.SetSubject(new X509Name("CN=dev-1"));
        requestBuilder.SetProofOfPossessionSignKeySigner(new Asn1SignatureFactory("SHA256WITHECDSA", keyPair.Private, random));
        BcCrmf.CertReqMsg certReqMsg = requestBuilder.Build().ToAsn1Structure();
        byte[] transactionId = RandomNumberGenerator.GetBytes(16);
        byte[] irNonce = RandomNumberGenerator.GetBytes(16);
        Org.BouncyCastle.Cmp.ProtectedPkiMessage ir = Header(f, transactionId, irNonce, null)
            .SetBody(new BcCmp.PkiBody(BcCmp.PkiBody.TYPE_INIT_REQ, new BcCrmf.CertReqMessages(certReqMsg)))
            .Build(MacBuilder().Build(Secret));

        // Our server answers; BouncyCastle checks the answer.
        Org.BouncyCastle.Cmp.ProtectedPkiMessage ip = await ExchangeAsync(f, ir);
        Assert.True(ip.HasPasswordBasedMacProtected);
        Assert.True(ip.Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), Secret), "BouncyCastle does not verify the ip's MAC");
        Assert.False(ip.Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), Dev2Secret.ToCharArray()));
        Assert.Equal(BcCmp.PkiBody.TYPE_INIT_REP, ip.Body.Type);
        Assert.Equal(transactionId, ip.Header.TransactionID.GetOctets());
        Assert.Equal(irNonce, ip.Header.RecipNonce.GetOctets());

        BcCmp.CertResponse response = Assert.Single(BcCmp.CertRepMessage.GetInstance(ip.Body.Content).GetResponse());
        Assert.Equal(0, response.Status.Status.IntValueExact); // granted
        Assert.Equal(0, response.CertReqID.IntValueExact);
        var issued = new BcX509Certificate(response.CertifiedKeyPair.CertOrEncCert.Certificate.X509v3PKCert);
        Assert.Equal("CN=dev-1", issued.SubjectDN.ToString());
        Assert.Equal(keyPair.Public, issued.GetPublicKey());
        var issuing = new BcX509Certificate(f.Bootstrap.Hierarchy.IssuingCa.RawData);
        issued.Verify(issuing.GetPublicKey());
        Assert.Equal(1, f.Server.OpenTransactions);

        // certConf from BouncyCastle's own builder (certHash with the digest of the certificate's signature algorithm).
        var confirmation = new Org.BouncyCastle.Cmp.CertificateConfirmationContentBuilder(Org.BouncyCastle.Operators.Utilities.DefaultDigestAlgorithmFinder.Instance)
            .AddAcceptedCertificate(issued, BigInteger.Zero)
            .Build();
        Org.BouncyCastle.Cmp.ProtectedPkiMessage certConf = Header(f, transactionId, RandomNumberGenerator.GetBytes(16), ip.Header.SenderNonce!.GetOctets())
            .SetBody(new BcCmp.PkiBody(BcCmp.PkiBody.TYPE_CERT_CONFIRM, confirmation.ToAsn1Structure()))
            .Build(MacBuilder().Build(Secret));
        Org.BouncyCastle.Cmp.ProtectedPkiMessage pkiConf = await ExchangeAsync(f, certConf);
        Assert.True(pkiConf.Verify(new Org.BouncyCastle.Crmf.PKMacBuilder(), Secret));
        Assert.Equal(BcCmp.PkiBody.TYPE_CONFIRM, pkiConf.Body.Type);
        Assert.Equal(0, f.Server.OpenTransactions);
        using var issuedHere = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificate(issued.GetEncoded());
        StoredCertificate stored = (await f.Store.GetCertificateAsync(issuedHere.SerialNumber, CancellationToken.None))!;
        Assert.Equal(CertificateStatus.Active, stored.Status);

        // Then a cr signed by BouncyCastle with the certificate it just got (extraCerts first), asking for implicit confirmation:
        // our signed cp verifies with BouncyCastle against the server credential it carries first in extraCerts.
        AsymmetricCipherKeyPair second = NewKeyPair(random);
        var crBuilder = new Org.BouncyCastle.Crmf.CertificateRequestMessageBuilder(BigInteger.Zero);
        crBuilder.SetSubjectPublicKeyInfo(Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(second.Public));
        crBuilder.SetSubject(new X509Name("CN=dev-1"));
        crBuilder.SetProofOfPossessionSignKeySigner(new Asn1SignatureFactory("SHA256WITHECDSA", second.Private, random));
        Org.BouncyCastle.Cmp.ProtectedPkiMessage cr = Header(f, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16), null)
            .SetSenderKID(issued.GetExtensionValue(X509Extensions.SubjectKeyIdentifier) is { } ski
                ? SubjectKeyIdentifier.GetInstance(Asn1Object.FromByteArray(ski.GetOctets())).GetKeyIdentifier()
                : throw new Xunit.Sdk.XunitException("the issued certificate has no subjectKeyIdentifier"))
            .AddGeneralInfo(new BcCmp.InfoTypeAndValue(BcCmp.CmpObjectIdentifiers.it_implicitConfirm, DerNull.Instance))
            .AddCmpCertificate(issued)
            .SetBody(new BcCmp.PkiBody(BcCmp.PkiBody.TYPE_CERT_REQ, new BcCrmf.CertReqMessages(crBuilder.Build().ToAsn1Structure())))
            .Build(new Asn1SignatureFactory("SHA256WITHECDSA", keyPair.Private, random));
        Org.BouncyCastle.Cmp.ProtectedPkiMessage cp = await ExchangeAsync(f, cr);
        Assert.False(cp.HasPasswordBasedMacProtected);
        BcX509Certificate signer = cp.GetCertificates()[0];
        Assert.Equal(f.Bootstrap.ServerCredential.Certificate.RawData, signer.GetEncoded());
        Assert.True(cp.Verify(new Asn1VerifierFactory(cp.ProtectionAlgorithm, signer.GetPublicKey())), "BouncyCastle does not verify the cp's signature");
        Assert.Equal(BcCmp.PkiBody.TYPE_CERT_REP, cp.Body.Type);
        BcCmp.CertResponse crResponse = Assert.Single(BcCmp.CertRepMessage.GetInstance(cp.Body.Content).GetResponse());
        Assert.Equal(0, crResponse.Status.Status.IntValueExact);
        Assert.Contains(cp.Header.GetGeneralInfo(), i => i.InfoType.Equals(BcCmp.CmpObjectIdentifiers.it_implicitConfirm));
        Assert.Equal(second.Public, new BcX509Certificate(crResponse.CertifiedKeyPair.CertOrEncCert.Certificate.X509v3PKCert).GetPublicKey());
        Assert.Equal(0, f.Server.OpenTransactions);
        Assert.Equal(2, await f.CertificateCountAsync());
    }

    private static AsymmetricCipherKeyPair NewKeyPair(SecureRandom random)
    {
        var generator = GeneratorUtilities.GetKeyPairGenerator("EC");
        generator.Init(new Org.BouncyCastle.Crypto.Parameters.ECKeyGenerationParameters(SecObjectIdentifiersP256, random));
        return generator.GenerateKeyPair();
    }

    [Fact]
    public async Task BcIr_WithAWrongSecret_GetsAnErrorMessage_BcReadsItsFailInfo()
    {
        await using var f = await CreateAsync();
        SecureRandom random = new();
        AsymmetricCipherKeyPair keyPair = NewKeyPair(random);
        var requestBuilder = new Org.BouncyCastle.Crmf.CertificateRequestMessageBuilder(BigInteger.Zero);
        requestBuilder.SetSubjectPublicKeyInfo(Org.BouncyCastle.X509.SubjectPublicKeyInfoFactory.CreateSubjectPublicKeyInfo(keyPair.Public));
        requestBuilder.SetSubject(new X509Name("CN=dev-1"));
        requestBuilder.SetProofOfPossessionSignKeySigner(new Asn1SignatureFactory("SHA256WITHECDSA", keyPair.Private, random));
        Org.BouncyCastle.Cmp.ProtectedPkiMessage ir = Header(f, RandomNumberGenerator.GetBytes(16), RandomNumberGenerator.GetBytes(16), null)
            .SetBody(new BcCmp.PkiBody(BcCmp.PkiBody.TYPE_INIT_REQ, new BcCrmf.CertReqMessages(requestBuilder.Build().ToAsn1Structure())))
            .Build(MacBuilder().Build("not-the-secret".ToCharArray()));

        Org.BouncyCastle.Cmp.ProtectedPkiMessage error = await ExchangeAsync(f, ir);
        Assert.Equal(BcCmp.PkiBody.TYPE_ERROR, error.Body.Type);
        BcCmp.PkiStatusInfo status = BcCmp.ErrorMsgContent.GetInstance(error.Body.Content).PkiStatusInfo;
        Assert.Equal(2, status.Status.IntValueExact);
        Assert.True((status.FailInfo.IntValue & BcCmp.PkiFailureInfo.BadMessageCheck) != 0, $"failInfo {status.FailInfo.IntValue:X}");
        Assert.Equal(0, await f.CertificateCountAsync());
    }

    private static readonly DerObjectIdentifier SecObjectIdentifiersP256 = Org.BouncyCastle.Asn1.Sec.SecObjectIdentifiers.SecP256r1;

    private static Org.BouncyCastle.Crmf.PKMacBuilder MacBuilder()
    {
        var builder = new Org.BouncyCastle.Crmf.PKMacBuilder(new Org.BouncyCastle.Crmf.DefaultPKMacPrimitivesProvider(),
            new AlgorithmIdentifier(NistObjectIdentifiers.IdSha256), new AlgorithmIdentifier(PkcsObjectIdentifiers.IdHmacWithSha256, DerNull.Instance));
        builder.SetIterationCount(1000);
        return builder;
    }

    /// <summary>A header from dev-1 to the issuing CA (its name as BouncyCastle reads it from the CA certificate).</summary>
    private static Org.BouncyCastle.Cmp.ProtectedPkiMessageBuilder Header(CmpServerFixture f, byte[] transactionId, byte[] senderNonce, byte[]? recipNonce)
    {
        X509Name recipient = new BcX509Certificate(f.Bootstrap.Hierarchy.IssuingCa.RawData).SubjectDN;
        var builder = new Org.BouncyCastle.Cmp.ProtectedPkiMessageBuilder(new GeneralName(new X509Name("CN=dev-1")), new GeneralName(recipient))
            .SetMessageTime(new DerGeneralizedTime(DateTime.UtcNow))
            .SetTransactionId(transactionId)
            .SetSenderNonce(senderNonce)
            .SetSenderKID("dev-1"u8.ToArray());
        return recipNonce is null ? builder : builder.SetRecipNonce(recipNonce);
    }

    private static async Task<Org.BouncyCastle.Cmp.ProtectedPkiMessage> ExchangeAsync(CmpServerFixture f, Org.BouncyCastle.Cmp.ProtectedPkiMessage request)
    {
        CmpExchangeResult result = await f.Server.HandleAsync(request.ToAsn1Message().GetEncoded(Asn1Encodable.Der), Context(), CancellationToken.None);
        Assert.False(result.IsMalformed, result.Detail);
        return new Org.BouncyCastle.Cmp.ProtectedPkiMessage(BcCmp.PkiMessage.GetInstance(result.Response!.ToArray()));
    }
}
