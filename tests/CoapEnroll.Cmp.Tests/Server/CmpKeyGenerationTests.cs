using System.Diagnostics;
using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.Pkcs;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CoapEnroll.Pkix;
using Org.BouncyCastle.Cms;
using static CoapEnroll.Cmp.Tests.Server.CmpServerFixture;

namespace CoapEnroll.Cmp.Tests.Server;

/// <summary>Central key generation (RFC 9483 §4.1.6): a template without publicKey gets the key in privateKey as EnvelopedData.</summary>
public sealed class CmpKeyGenerationTests
{
    [Fact]
    public async Task MacIrWithoutKey_GetsTheKeyForTheSharedSecret_SignedByTheServer()
    {
        await using var f = await CreateAsync();
        PkiMessage ip = await f.SendAsync(Mac(KeyGenerationRequest(PkiBodyType.Ir, Header(Dev1, implicitConfirm: true), "CN=dev-1"), Dev1Secret));
        Assert.Equal(3, ip.Header.Pvno);
        CertResponse response = SingleResponse(ip, PkiBodyType.Ip);
        Assert.Equal((int)PkiStatus.Accepted, response.Status.Status);
        Assert.True(CmpProtection.VerifyMac(ip, Encoding.UTF8.GetBytes(Dev1Secret), new CmpMacPolicy()).IsValid);
        using var issued = X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
        Assert.Equal("CN=dev-1", issued.Subject);

        // The round trip through the codec keeps privateKey as the EncryptedKey envelopedData [0] choice.
        byte[] enveloped = CmpKeyDelivery.EnvelopedDataOfEncryptedKey(response.CertifiedKeyPair.PrivateKey!.Value);
        Assert.Equal(3, (int)new AsnReader(enveloped, AsnEncodingRules.DER).ReadSequence().ReadInteger());

        byte[] signedData = CmsPasswordRecipient.Decrypt(enveloped, Encoding.UTF8.GetBytes(Dev1Secret), out string contentType);
        Assert.Equal(PkixOids.SignedData, contentType);
        AssertKeyPackage(f, signedData, issued);

        // Independently: openssl cms.
        byte[]? opened = OpensslDecrypt(enveloped, "-pwri_password", Dev1Secret);
        if (opened is not null)
        {
            Assert.Equal(signedData, opened);
        }

        // Independently: Bouncy Castle.
        // Bouncy Castle reads the PasswordRecipientInfo but derives its key with PBKDF2-HMAC-SHA1 whatever the prf says, so it
        // cannot open this HMAC-SHA256 one: only its structure is checked there.
        var bc = new Org.BouncyCastle.Cms.CmsEnvelopedData(ContentInfo(enveloped));
        var pwri = Assert.IsType<PasswordRecipientInformation>(Assert.Single(bc.GetRecipientInfos().GetRecipients()));
        Assert.Equal(CmsPasswordRecipient.Pbkdf2, pwri.KeyDerivationAlgorithm.Algorithm.Id);

        // The wrong secret opens nothing.
        Assert.ThrowsAny<CryptographicException>(() => CmsPasswordRecipient.Decrypt(enveloped, Encoding.UTF8.GetBytes(Dev2Secret), out _));
        Assert.Equal(1, await f.CertificateCountAsync());
    }

    [Fact]
    public async Task SignedIrWithoutKey_FromAnEcCertificate_GetsTheKeyByKeyAgreement()
    {
        await using var f = await CreateAsync();
        (PkiMessage ir, ECDsa key) = MacIr(Dev1, Dev1Secret, implicitConfirm: true);
        using (key)
        {
            PkiMessage ip = await f.SendAsync(ir);
            Assert.False(ip.Body is ErrorBody, string.Join("; ", (ip.Body as ErrorBody)?.StatusInfo.StatusString ?? []));
            using var first = X509CertificateLoader.LoadCertificate(SingleResponse(ip, PkiBodyType.Ip).CertifiedKeyPair!.Certificate!.Value.Span);
            using X509Certificate2 holder = first.CopyWithPrivateKey(key);
            PkiMessage request = CmpProtection.ProtectWithSignature(KeyGenerationRequest(PkiBodyType.Cr,
                CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId(), implicitConfirm: true), "CN=dev-1"), holder, []);
            PkiMessage cp = await f.SendAsync(request);
            Assert.False(cp.Body is ErrorBody e, string.Join("; ", (cp.Body as ErrorBody)?.StatusInfo.StatusString ?? []));
            Assert.Equal(3, cp.Header.Pvno);
            CertResponse response = SingleResponse(cp, PkiBodyType.Cp);
            Assert.Equal((int)PkiStatus.Accepted, response.Status.Status);
            using var issued = X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
            byte[] enveloped = CmpKeyDelivery.EnvelopedDataOfEncryptedKey(response.CertifiedKeyPair.PrivateKey!.Value);

            using ECDiffieHellman ecdh = ECDiffieHellman.Create(key.ExportParameters(includePrivateParameters: true));
            byte[] signedData = CmsKeyAgreement.Decrypt(ContentInfo(enveloped), ecdh, holder, out string contentType);
            Assert.Equal(PkixOids.SignedData, contentType);
            AssertKeyPackage(f, signedData, issued);

            // Independently: openssl cms with the requester's key and certificate.
            string dir = Directory.CreateTempSubdirectory("cmp-keygen-").FullName;
            try
            {
                File.WriteAllText(Path.Combine(dir, "holder.key"), key.ExportPkcs8PrivateKeyPem());
                File.WriteAllText(Path.Combine(dir, "holder.crt"), holder.ExportCertificatePem());
                byte[]? opened = OpensslDecrypt(enveloped, "-inkey", Path.Combine(dir, "holder.key"), "-recip", Path.Combine(dir, "holder.crt"));
                if (opened is not null)
                {
                    Assert.Equal(signedData, opened);
                }
            }
            finally
            {
                Directory.Delete(dir, recursive: true);
            }

            // Bouncy Castle reads the KeyAgreeRecipientInfo, but its ECDHKekGenerator always puts NULL parameters on the key wrap in
            // ECC-CMS-SharedInfo, where RFC 3565 §2.3.2 has them absent (as written here and by openssl): it derives another key
            // and cannot open this one, so only the structure is checked there.
            var bc = new Org.BouncyCastle.Cms.CmsEnvelopedData(ContentInfo(enveloped));
            var kari = Assert.IsType<KeyAgreeRecipientInformation>(Assert.Single(bc.GetRecipientInfos().GetRecipients()));
            Assert.Equal(PkixOids.EcdhStdSha256Kdf, kari.KeyEncryptionAlgOid);

            // Another key opens nothing.
            using var stranger = ECDiffieHellman.Create(ECCurve.NamedCurves.nistP256);
            Assert.ThrowsAny<CryptographicException>(() => CmsKeyAgreement.Decrypt(ContentInfo(enveloped), stranger, holder, out _));
        }
    }

    [Fact]
    public async Task SignedIrWithoutKey_FromAnRsaCertificate_GetsTheKeyByKeyTransport()
    {
        await using var f = await CreateAsync();
        using RSA rsa = RSA.Create(2048);
        PkiMessage ir = Mac(CmpRequests.CertificateRequest(PkiBodyType.Ir, Header(Dev1, implicitConfirm: true), new X500DistinguishedName("CN=dev-1"), rsa), Dev1Secret);
        PkiMessage ip = await f.SendAsync(ir);
        Assert.False(ip.Body is ErrorBody, string.Join("; ", (ip.Body as ErrorBody)?.StatusInfo.StatusString ?? []));
        CertResponse first = SingleResponse(ip, PkiBodyType.Ip);
        Assert.True(first.Status.Status == (int)PkiStatus.Accepted, string.Join("; ", first.Status.StatusString ?? []));
        using var firstCertificate = X509CertificateLoader.LoadCertificate(first.CertifiedKeyPair!.Certificate!.Value.Span);
        using X509Certificate2 holder = firstCertificate.CopyWithPrivateKey(rsa);
        PkiMessage cp = await f.SendAsync(CmpProtection.ProtectWithSignature(KeyGenerationRequest(PkiBodyType.Cr,
            CmpRequests.Header(holder.SubjectName, null, null, CmpRequests.NewId(), implicitConfirm: true), "CN=dev-1"), holder, []));
        Assert.False(cp.Body is ErrorBody, string.Join("; ", (cp.Body as ErrorBody)?.StatusInfo.StatusString ?? []));
        Assert.Equal(3, cp.Header.Pvno);
        CertResponse response = SingleResponse(cp, PkiBodyType.Cp);
        using var issued = X509CertificateLoader.LoadCertificate(response.CertifiedKeyPair!.Certificate!.Value.Span);
        byte[] enveloped = CmpKeyDelivery.EnvelopedDataOfEncryptedKey(response.CertifiedKeyPair.PrivateKey!.Value);

        var cms = new EnvelopedCms();
        cms.Decode(ContentInfo(enveloped));
        cms.Decrypt(Assert.Single(cms.RecipientInfos.Cast<RecipientInfo>()), rsa);
        Assert.Equal(PkixOids.SignedData, cms.ContentInfo.ContentType.Value);
        AssertKeyPackage(f, cms.ContentInfo.Content, issued);
    }

    [Fact]
    public async Task KurWithoutKey_IsRefused_AndIssuesNothing()
    {
        await using var f = await CreateAsync();
        PkiMessage kup = await f.SendAsync(Mac(KeyGenerationRequest(PkiBodyType.Kur, Header(Dev1, implicitConfirm: true), "CN=dev-1"), Dev1Secret));
        CertResponse response = SingleResponse(kup, PkiBodyType.Kup);
        Assert.Equal((int)PkiStatus.Rejection, response.Status.Status);
        Assert.Equal((int)PkiFailureInfo.BadCertTemplate, response.Status.FailInfo);
        Assert.Equal(2, kup.Header.Pvno);
        Assert.Equal(0, await f.CertificateCountAsync());
    }

    [Fact]
    public void Rfc3211Wrap_RoundTrips_AndTheWrongKeyFailsTheCheckValue()
    {
        byte[] kek = RandomNumberGenerator.GetBytes(32);
        byte[] iv = RandomNumberGenerator.GetBytes(16);
        foreach (int length in new[] { 16, 24, 32 })
        {
            byte[] key = RandomNumberGenerator.GetBytes(length);
            byte[] wrapped = CmsPasswordRecipient.Wrap(kek, iv, key);
            Assert.Equal(length <= 28 ? 32 : 48, wrapped.Length);
            Assert.Equal(key, CmsPasswordRecipient.Unwrap(kek, iv, wrapped));
            Assert.ThrowsAny<CryptographicException>(() => CmsPasswordRecipient.Unwrap(RandomNumberGenerator.GetBytes(32), iv, wrapped));
        }
    }

    /// <summary>A central key generation request: a template with a subject and no publicKey, and no proof of possession.</summary>
    private static PkiMessage KeyGenerationRequest(PkiBodyType type, PkiHeader header, string subject) => new()
    {
        Header = header,
        Body = new CertReqMessagesBody(type)
        {
            Requests =
            [
                new CertReqMsg
                {
                    CertReq = new CertRequest
                    {
                        CertReqId = 0,
                        Template = new CertTemplate { Subject = (ReadOnlyMemory<byte>?)new X500DistinguishedName(subject).RawData },
                    },
                },
            ],
        },
    };

    /// <summary>The SignedData is signed by the server's CMP signer over an AsymmetricKeyPackage whose key is the certificate's.</summary>
    private static void AssertKeyPackage(CmpServerFixture f, byte[] signedData, X509Certificate2 issued)
    {
        var signed = new SignedCms();
        signed.Decode(signedData);
        Assert.Equal(PkixOids.AsymmetricKeyPackage, signed.ContentInfo.ContentType.Value);
        signed.CheckSignature(verifySignatureOnly: true);
        Assert.Equal(f.Bootstrap.ServerCredential.Certificate.RawData, Assert.Single(signed.SignerInfos.Cast<SignerInfo>()).Certificate!.RawData);
        byte[] pkcs8 = CmsAsymmetricKeyPackage.ReadSingleKey(signed.ContentInfo.Content);
        using ECDsa generated = ECDsa.Create();
        generated.ImportPkcs8PrivateKey(pkcs8, out _);
        using ECDsa certified = issued.GetECDsaPublicKey()!;
        Assert.Equal(certified.ExportSubjectPublicKeyInfo(), generated.ExportSubjectPublicKeyInfo());
    }

    private static byte[] ContentInfo(byte[] envelopedData)
    {
        var writer = new AsnWriter(AsnEncodingRules.DER);
        using (writer.PushSequence())
        {
            writer.WriteObjectIdentifier(PkixOids.EnvelopedData);
            using (writer.PushSequence(new Asn1Tag(TagClass.ContextSpecific, 0, isConstructed: true)))
            {
                writer.WriteEncodedValue(envelopedData);
            }
        }

        return writer.Encode();
    }

    /// <summary>`openssl cms -decrypt` of the EnvelopedData with <paramref name="options"/>; null when openssl is not installed.</summary>
    private static byte[]? OpensslDecrypt(byte[] envelopedData, params string[] options)
    {
        string dir = Directory.CreateTempSubdirectory("cmp-keygen-openssl-").FullName;
        try
        {
            File.WriteAllBytes(Path.Combine(dir, "in.der"), ContentInfo(envelopedData));
            var psi = new ProcessStartInfo("openssl") { WorkingDirectory = dir, RedirectStandardError = true, RedirectStandardOutput = true };
            foreach (string a in (string[])["cms", "-decrypt", "-binary", "-inform", "DER", "-in", "in.der", "-out", "out.der", .. options])
            {
                psi.ArgumentList.Add(a);
            }

            Process p;
            try
            {
                p = Process.Start(psi)!;
            }
            catch (System.ComponentModel.Win32Exception)
            {
                return null;
            }

            using (p)
            {
                p.StandardOutput.ReadToEnd();
                string error = p.StandardError.ReadToEnd();
                p.WaitForExit();
                Assert.True(p.ExitCode == 0, "openssl cms -decrypt failed: " + error);
            }

            return File.ReadAllBytes(Path.Combine(dir, "out.der"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
