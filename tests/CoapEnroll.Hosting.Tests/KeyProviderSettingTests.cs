using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>Ca:KeyProvider: PEM files by default; an unknown provider or incomplete Ca:Pkcs11 settings stop the host before any key is used.</summary>
public sealed class KeyProviderSettingTests
{
    [Fact]
    public async Task File_IsTheDefault_AndTheIssuingKeyIsDIRsFile()
    {
        using var dir = new TempDirectory("coapenroll-keyprovider-");
        using IHost host = Build(dir.File("data"), []);
        await host.StartAsync();
        CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
        Assert.IsType<FileCaSigningKey>(certification.Hierarchy.IssuingKey);
        Assert.True(File.Exists(certification.Layout.IssuingKey));
        Assert.Null(certification.CreateKeyProvider());
        await host.StopAsync();
    }

    [Theory]
    [InlineData("Vault", null, null, "Ca:KeyProvider 'Vault' is not one of File, Pkcs11")]
    [InlineData("Pkcs11", null, null, "Ca:Pkcs11:Module is required")]
    [InlineData("Pkcs11", "/usr/lib/softhsm/libsofthsm2.so", null, "exactly one of Ca:Pkcs11:TokenLabel and Ca:Pkcs11:Slot")]
    [InlineData("Pkcs11", "/usr/lib/softhsm/libsofthsm2.so", "ca", "Ca:Pkcs11:KeyLabel or Ca:Pkcs11:KeyId")]
    public async Task ABadKeyProviderSetting_StopsTheHostWithWhatIsWrong(string provider, string? module, string? token, string expected)
    {
        using var dir = new TempDirectory("coapenroll-keyprovider-");
        using IHost host = Build(dir.File("data"), new()
        {
            ["Ca:KeyProvider"] = provider,
            ["Ca:Pkcs11:Module"] = module,
            ["Ca:Pkcs11:TokenLabel"] = token,
            ["Ca:Pkcs11:PinEnvironmentVariable"] = "COAPENROLL_TEST_UNSET_PIN",
        });

        var failure = await Assert.ThrowsAsync<CaConfigurationException>(() => host.StartAsync());

        Assert.Contains(expected, failure.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(dir.File("data"), "ca", "issuing.pem")));
    }

    [Fact]
    public async Task AMisspeltPkcs11Setting_IsNamed()
    {
        using var dir = new TempDirectory("coapenroll-keyprovider-");
        using IHost host = Build(dir.File("data"), new() { ["Ca:KeyProvider"] = "pkcs11", ["Ca:Pkcs11:Modul"] = "/x.so" });

        var failure = await Assert.ThrowsAsync<CaConfigurationException>(() => host.StartAsync());

        Assert.Contains("Modul", failure.Message, StringComparison.Ordinal);
    }

    private static IHost Build(string dataDirectory, Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DataDirectory"] = dataDirectory });
        builder.Configuration.AddInMemoryCollection(settings);
        builder.Services.AddCoapEnrollCertification(builder.Configuration);
        return builder.Build();
    }
}
