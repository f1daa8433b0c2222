using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Configuration;

namespace CoapEnroll.Ca.Tests;

public sealed class ProfileTests
{
    [Fact]
    public async Task Profiles_bind_from_configuration_and_shape_the_certificate()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ca:DataDirectory"] = "unused",
            ["Ca:DefaultProfile"] = "device",
            ["Ca:Profiles:device:ValidityDays"] = "30",
            ["Ca:Profiles:device:BackdateMinutes"] = "0",
            ["Ca:Profiles:device:KeyUsage:0"] = "DigitalSignature",
            ["Ca:Profiles:device:KeyUsage:1"] = "KeyAgreement",
            ["Ca:Profiles:device:ExtendedKeyUsage:0"] = "clientAuth",
            ["Ca:Profiles:device:ExtendedKeyUsage:1"] = "1.3.6.1.5.5.7.3.1",
            ["Ca:Profiles:device:AcceptedKeyTypes:0"] = "P-256",
            ["Ca:Profiles:gateway:RequiresApproval"] = "true",
            ["Ca:Profiles:gateway:SubjectPolicy"] = "AllowList",
            ["Ca:Profiles:gateway:AllowedSubjectAttributes:0"] = "CN",
            ["Ca:Profiles:gateway:SubjectAltNames"] = "Reject",
            ["Ca:TrustedManufacturerCaFiles:0"] = "a.pem",
            ["Ca:TrustedManufacturerCaFiles:1"] = "b.pem",
        }).Build();
        CaOptions bound = configuration.GetSection(CaOptions.SectionName).Get<CaOptions>()!;
        Assert.Equal(["a.pem", "b.pem"], bound.TrustedManufacturerCaFiles!);

        CertificateProfileCatalog catalog = CertificateProfileCatalog.FromOptions(bound);
        Assert.Equal("device", catalog.Default.Name);
        Assert.Equal(TimeSpan.FromDays(30), catalog.Default.Validity);
        Assert.Equal(KeyTypes.EcP256, catalog.Default.AcceptedKeyTypes);
        Assert.Equal(["1.3.6.1.5.5.7.3.2", "1.3.6.1.5.5.7.3.1"], catalog.Default.ExtendedKeyUsages);
        Assert.True(catalog.TryGet("GATEWAY", out CertificateProfile gateway));
        Assert.True(gateway.RequiresApproval);
        Assert.Equal(SubjectPolicy.AllowList, gateway.SubjectPolicy);
        Assert.Equal(KeyTypes.All, gateway.AcceptedKeyTypes);
        Assert.False(catalog.TryGet("other", out _));

        await using TestCa ca = await TestCa.CreateAsync(o => { o.DefaultProfile = bound.DefaultProfile; o.Profiles = bound.Profiles; });
        X509Certificate2 issued = (await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr()), CancellationToken.None)).Certificate!;
        Assert.Equal(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyAgreement, issued.Extensions.OfType<X509KeyUsageExtension>().Single().KeyUsages);
        Assert.Equal(2, issued.Extensions.OfType<X509EnhancedKeyUsageExtension>().Single().EnhancedKeyUsages.Count);
        Assert.InRange(issued.NotAfter - issued.NotBefore, TimeSpan.FromDays(30) - TimeSpan.FromSeconds(1), TimeSpan.FromDays(30) + TimeSpan.FromSeconds(1));
    }

    [Theory]
    [InlineData("ValidityDays", "0")]
    [InlineData("BackdateMinutes", "-1")]
    [InlineData("KeyUsage:0", "KeyCertSign")]
    [InlineData("KeyUsage:0", "Bogus")]
    [InlineData("KeyUsage:0", "1")]
    [InlineData("ExtendedKeyUsage:0", "notAnOid")]
    [InlineData("AcceptedKeyTypes:0", "Ed25519")]
    [InlineData("MinimumRsaKeySize", "1024")]
    [InlineData("SubjectPolicy", "AllowList")]
    [InlineData("AllowedSubjectAttributes:0", "1.2.x")]
    public void Invalid_profile_settings_are_refused_with_the_setting_named(string key, string value)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Ca:Profiles:p:{key}"] = value,
        }).Build();
        CaOptions options = configuration.GetSection("Ca").Get<CaOptions>()!;
        var ex = Assert.Throws<CaConfigurationException>(() => CertificateProfileCatalog.FromOptions(options));
        Assert.Equal(CaConfigurationProblem.InvalidSetting, ex.Problem);
        Assert.Contains("Ca:Profiles:p", ex.Message);
    }

    [Fact]
    public void Invalid_profile_names_and_default_are_refused()
    {
        Assert.Throws<CaConfigurationException>(() => CertificateProfile.FromOptions("bad name", null));
        Assert.Throws<CaConfigurationException>(() => CertificateProfile.FromOptions(new string('a', 65), null));
        Assert.Throws<CaConfigurationException>(() => new CertificateProfileCatalog([CertificateProfile.FromOptions("a", null)], "b"));
        Assert.Throws<CaConfigurationException>(() => new CertificateProfileCatalog([CertificateProfile.FromOptions("a", null), CertificateProfile.FromOptions("A", null)], "a"));
    }
}
