using System.Security.Cryptography.X509Certificates;
using CoapEnroll.Ca;
using CoapEnroll.Enrollment;
using CoapEnroll.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace CoapEnroll.Hosting.Tests;

/// <summary>The composition root: the CA side built once when the host starts, and every front end taking it from the container.</summary>
public sealed class CompositionTests
{
    [Fact]
    public async Task The_CA_its_store_and_the_enrollment_service_are_built_once_at_start_and_resolved_from_the_container()
    {
        using var dir = new TempDirectory("coapenroll-hosting-");
        using IHost host = Build(dir.File("data"));
        CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();

        // Not before the host starts: loading may create the demo PKI, which a host decides to do by starting.
        Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<EnrollmentService>());
        Assert.False(File.Exists(Path.Combine(dir.File("data"), "trust-anchor.pem")));

        await host.StartAsync();
        Assert.True(certification.IsFirstStart);
        Assert.True(File.Exists(certification.Layout.TrustAnchor));
        Assert.True(File.Exists(certification.Layout.ServerCertificate));
        Assert.True(File.Exists(certification.Layout.Database));

        EnrollmentService enrollment = host.Services.GetRequiredService<EnrollmentService>();
        Assert.Same(certification.Enrollment, enrollment);
        Assert.Same(enrollment, host.Services.GetRequiredService<EnrollmentService>());
        Assert.Same(certification.Authority, host.Services.GetRequiredService<CertificateAuthority>());
        Assert.Same(enrollment.Authority, host.Services.GetRequiredService<CertificateAuthority>());
        Assert.Same(enrollment.Authority.Store, host.Services.GetRequiredService<ICertificateStore>());
        Assert.Same(certification.Store, Assert.IsType<InstrumentedCertificateStore>(enrollment.Authority.Store).Inner);
        // CMP's transactions in the store are timed into ca.store.duration like the CA's own calls.
        CoapEnroll.Cmp.CmpServer cmp = await certification.GetCmpServerAsync(CancellationToken.None);
        Assert.Same(certification.Store, Assert.IsType<InstrumentedTransactionStore>(cmp.TransactionStore).Inner);
        Assert.Same(enrollment.Hierarchy, host.Services.GetRequiredService<CaHierarchy>());
        Assert.Same(await certification.GetHierarchyAsync(CancellationToken.None), host.Services.GetRequiredService<CaHierarchy>());
        Assert.Same(await certification.GetEnrollmentAsync(CancellationToken.None), enrollment);

        // The server's credential signs the keys EST generates (RFC 7030 §4.4.2), with what it sends after it in DTLS.
        ServerCredential credential = host.Services.GetRequiredService<ServerCredential>();
        Assert.Equal(credential.Certificate.Thumbprint, certification.EstOptions!.KeyGenerationSigner!.Thumbprint);
        Assert.Equal(credential.Intermediates.Select(c => c.Thumbprint), certification.EstOptions.KeyGenerationSignerIntermediates.Select(c => c.Thumbprint));
        Assert.Equal(enrollment.Hierarchy.IssuingCa.Thumbprint, Assert.Single(credential.Intermediates).Thumbprint);

        string issuing = enrollment.Hierarchy.IssuingCa.Thumbprint;
        await host.StopAsync();
        Assert.Throws<InvalidOperationException>(() => certification.Store);

        using IHost again = Build(dir.File("data"));
        await again.StartAsync();
        CertificationServices reloaded = again.Services.GetRequiredService<CertificationServices>();
        Assert.False(reloaded.IsFirstStart);
        Assert.Equal(issuing, again.Services.GetRequiredService<CaHierarchy>().IssuingCa.Thumbprint);
        await again.StopAsync();
    }

    [Fact]
    public void The_CoAP_server_is_registered_only_after_the_certification_services_it_runs_on()
    {
        var services = new ServiceCollection();
        IConfiguration configuration = new ConfigurationBuilder().Build();

        var ex = Assert.Throws<InvalidOperationException>(() => services.AddCoapEnrollCoapServer(configuration));
        Assert.Contains(nameof(CoapEnrollServiceCollectionExtensions.AddCoapEnrollCertification), ex.Message);

        // Hosted services start in this order and stop in reverse: the CA is loaded before the server listens and closed after it stops.
        using var dir = new TempDirectory("coapenroll-hosting-");
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DataDirectory"] = dir.Path });
        builder.Services.AddCoapEnrollCertification(builder.Configuration).AddCoapEnrollCoapServer(builder.Configuration);
        using IHost host = builder.Build();
        Assert.Equal([typeof(CertificationServices), typeof(CmpSweepService), typeof(CmpAnnouncementService), typeof(CoapServerService)], host.Services.GetServices<IHostedService>().Select(s => s.GetType()));
    }

    [Fact]
    public async Task Dtls_CertificateFile_supplies_the_server_credential_and_Ca_ServerCertificateFile_wins_over_it()
    {
        await using TestCa other = await TestCa.CreateAsync();
        CaDataLayout files = other.Hierarchy.Layout;
        using var dir = new TempDirectory("coapenroll-hosting-");

        using IHost fromDtls = Build(dir.File("dtls"), new()
        {
            ["Dtls:CertificateFile"] = files.ServerCertificate,
            ["Dtls:KeyFile"] = files.ServerKey,
        });
        await fromDtls.StartAsync();
        Assert.Equal(other.ServerCredential.Certificate.Thumbprint, fromDtls.Services.GetRequiredService<ServerCredential>().Certificate.Thumbprint);
        await fromDtls.StopAsync();

        using IHost fromCa = Build(dir.File("ca"), new()
        {
            ["Dtls:CertificateFile"] = files.ServerCertificate,
            ["Dtls:KeyFile"] = files.ServerKey,
            ["Ca:ServerCertificateFile"] = files.DemoDeviceCertificate,
            ["Ca:ServerKeyFile"] = files.DemoDeviceKey,
        });
        await fromCa.StartAsync();
        using X509Certificate2 device = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(files.DemoDeviceCertificate));
        Assert.Equal(device.Thumbprint, fromCa.Services.GetRequiredService<ServerCredential>().Certificate.Thumbprint);
        Assert.False(File.Exists(Path.Combine(dir.File("ca"), "server.pem")));
        await fromCa.StopAsync();
    }

    [Fact]
    public async Task The_CA_gets_its_CRL_validity_from_Ca_CrlValidity()
    {
        using var dir = new TempDirectory("coapenroll-hosting-");
        using IHost host = Build(dir.File("data"), new Dictionary<string, string?> { ["Ca:CrlValidity"] = "2.00:00:00" });
        await host.StartAsync();
        CertificateAuthority authority = host.Services.GetRequiredService<CertificateAuthority>();
        Assert.Equal(TimeSpan.FromDays(2), authority.CrlValidity);
        CrlSnapshot crl = await authority.GetCrlAsync(CancellationToken.None);
        Assert.Equal(TimeSpan.FromDays(2), crl.NextUpdate - crl.ThisUpdate);
        await host.StopAsync();
    }

    [Fact]
    public async Task Cmp_answers_are_signed_by_the_server_credential_with_key_files_and_ProtectionKey_Ca_needs_digitalSignature()
    {
        using var dir = new TempDirectory("coapenroll-hosting-");
        using (IHost host = Build(dir.File("data")))
        {
            await host.StartAsync();
            CertificationServices certification = host.Services.GetRequiredService<CertificationServices>();
            CoapEnroll.Cmp.CmpServer cmp = await certification.GetCmpServerAsync(CancellationToken.None);
            Assert.Equal(certification.ServerCredential.Certificate.Thumbprint, cmp.ProtectionKey.Certificate.Thumbprint);
            await host.StopAsync();
        }

        // The demo issuing CA in a file has KeyUsage keyCertSign|cRLSign only: asked for explicitly, the CA key is refused at start.
        using (IHost host = Build(dir.File("data"), new() { ["Cmp:ProtectionKey"] = "Ca" }))
        {
            CaConfigurationException refused = await Assert.ThrowsAsync<CaConfigurationException>(() => host.StartAsync());
            Assert.Contains("Cmp:ProtectionKey=Ca needs an issuing CA certificate whose KeyUsage allows digitalSignature", refused.Message, StringComparison.Ordinal);
        }
    }

    private static IHost Build(string dataDirectory, Dictionary<string, string?>? settings = null)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["DataDirectory"] = dataDirectory });
        builder.Configuration.AddInMemoryCollection(settings ?? []);
        builder.Services.AddCoapEnrollCertification(builder.Configuration);
        return builder.Build();
    }
}
