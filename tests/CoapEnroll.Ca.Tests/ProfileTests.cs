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
    public void Name_policies_templates_and_allow_lists_bind_from_configuration()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ca:Profiles:devices:SubjectTemplates:0"] = "serialNumber={serialNumber}, CN={CN}, O=Example Devices",
            ["Ca:Profiles:devices:SubjectAltNameTemplates:0"] = "DNS:{CN}.devices.example",
            ["Ca:Profiles:devices:SubjectAltNameTemplates:1"] = "IP:192.0.2.7",
            ["Ca:Profiles:devices:AllowedSubjects:0"] = "CN=gateway, O=Example",
            ["Ca:Profiles:devices:AllowedSubjectAltNames:0"] = "dns:gw.example",
            ["Ca:Profiles:devices:AllowedSubjectAltNames:1"] = "IP:2001:db8::0:7",
            ["Ca:Profiles:review:NamePolicy"] = "AnyNameHeldForApproval",
            ["Ca:Profiles:lab:NamePolicy"] = "anyname",
        }).Build();
        CertificateProfileCatalog catalog = CertificateProfileCatalog.FromOptions(configuration.GetSection("Ca").Get<CaOptions>()!);

        Assert.Equal(NamePolicy.BoundToRequester, catalog.Default.NamePolicy);
        Assert.True(catalog.TryGet("devices", out CertificateProfile devices));
        Assert.Equal(NamePolicy.BoundToRequester, devices.NamePolicy);
        IReadOnlyList<NameAttribute> device = [new("2.5.4.5", "DEMO-0001"), new("2.5.4.3", "demo-device-1"), new("2.5.4.10", "CoapEnroll Demo Manufacturer")];
        Assert.Equal([new("2.5.4.5", "DEMO-0001"), new("2.5.4.3", "demo-device-1"), new("2.5.4.10", "Example Devices")],
            Assert.Single(devices.SubjectTemplates).Instantiate(device)!);
        Assert.Equal(new GeneralName(GeneralNameKind.Dns, "demo-device-1.devices.example"), devices.SubjectAltNameTemplates[0].Instantiate(device));
        Assert.Equal(new GeneralName(GeneralNameKind.IPAddress, "192.0.2.7"), devices.SubjectAltNameTemplates[1].Instantiate(device));
        Assert.Equal([new("2.5.4.3", "gateway"), new("2.5.4.10", "Example")], Assert.Single(devices.AllowedSubjects).Instantiate([])!);
        Assert.Equal([new GeneralName(GeneralNameKind.Dns, "gw.example"), new GeneralName(GeneralNameKind.IPAddress, "2001:db8::7")], devices.AllowedSubjectAltNames);
        Assert.True(catalog.TryGet("review", out CertificateProfile review));
        Assert.Equal(NamePolicy.AnyNameHeldForApproval, review.NamePolicy);
        Assert.True(catalog.TryGet("lab", out CertificateProfile lab));
        Assert.Equal(NamePolicy.AnyName, lab.NamePolicy);
    }

    [Fact]
    public void A_template_whose_attribute_the_certificate_lacks_or_holds_twice_does_not_apply()
    {
        SubjectTemplate template = SubjectTemplate.TryParse("CN={CN}, serialNumber={serialNumber}", out _)!;
        Assert.Null(template.Instantiate([new("2.5.4.3", "only-a-cn")]));
        Assert.Null(template.Instantiate([new("2.5.4.3", "a"), new("2.5.4.3", "b"), new("2.5.4.5", "1")]));
        Assert.NotNull(template.Instantiate([new("2.5.4.3", "a"), new("2.5.4.5", "1")]));
    }

    [Theory]
    [InlineData("SubjectTemplates:0", "CN={nope}")]
    [InlineData("SubjectTemplates:0", "CN={CN")]
    [InlineData("SubjectTemplates:0", "CN=a}")]
    [InlineData("SubjectTemplates:0", "FOO={CN}")]
    [InlineData("SubjectTemplates:0", "CN=a,,")]
    [InlineData("SubjectAltNameTemplates:0", "email:{CN}@example")]
    [InlineData("SubjectAltNameTemplates:0", "DNS:")]
    [InlineData("SubjectAltNameTemplates:0", "IP:{CN}")]
    [InlineData("AllowedSubjects:0", "CN={CN}")]
    [InlineData("AllowedSubjectAltNames:0", "DNS:{CN}.example")]
    [InlineData("AllowedSubjectAltNames:0", "IP:1")]
    public void Invalid_name_settings_are_refused_with_the_setting_named(string key, string value)
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Ca:Profiles:p:{key}"] = value,
        }).Build();
        CaOptions options = configuration.GetSection("Ca").Get<CaOptions>()!;
        var ex = Assert.Throws<CaConfigurationException>(() => CertificateProfileCatalog.FromOptions(options));
        Assert.Contains($"Ca:Profiles:p: {key.Split(':')[0]}", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default", "NamePolicy", "AnyNme")]
    [InlineData("p", "NamePolicy", "AnyNme")]
    [InlineData("default", "SubjectAltNames", "Rejct")]
    [InlineData("default", "SubjectPolicy", "AllowLst")]
    [InlineData("default", "RequiresApproval", "yes please")]
    [InlineData("default", "NamePolicyy", "BoundToRequester")]
    public void A_profile_value_the_binder_cannot_read_is_an_error_naming_the_profile(string profile, string key, string value)
    {
        // The binder alone drops such a profile (or ignores the key): a misspelt restriction on "default" would bring back the
        // built-in default in its place.
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            [$"Ca:Profiles:{profile}:{key}"] = value,
            ["Ca:Profiles:other:ValidityDays"] = "30",
        }).Build();
        var ex = Assert.Throws<CaConfigurationException>(() => CaOptions.Bind(configuration));
        Assert.StartsWith($"Ca:Profiles:{profile}:", ex.Message, StringComparison.Ordinal);
        Assert.Contains(key, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Readable_profiles_bind_as_the_binder_binds_them()
    {
        IConfiguration configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Ca:Profiles:default:NamePolicy"] = "AnyNameHeldForApproval",
            ["Ca:Profiles:p:SubjectAltNames"] = "Reject",
            ["Ca:DefaultProfile"] = "default",
        }).Build();
        CertificateProfileCatalog catalog = CertificateProfileCatalog.FromOptions(CaOptions.Bind(configuration));
        Assert.Equal(NamePolicy.AnyNameHeldForApproval, catalog.Default.NamePolicy);
        Assert.True(catalog.TryGet("p", out CertificateProfile p));
        Assert.Equal(SubjectAltNamePolicy.Reject, p.SubjectAltNames);
    }

    [Fact]
    public void Any_name_with_templates_or_allow_lists_is_refused_as_contradictory()
    {
        var ex = Assert.Throws<CaConfigurationException>(() => CertificateProfile.FromOptions("lab",
            new CertificateProfileOptions { NamePolicy = NamePolicy.AnyName, AllowedSubjects = ["CN=x"] }));
        Assert.Contains("NamePolicy AnyName issues any name", ex.Message, StringComparison.Ordinal);
        Assert.Throws<CaConfigurationException>(() => CertificateProfile.FromOptions("lab", new CertificateProfileOptions { NamePolicy = (NamePolicy)7 }));
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
