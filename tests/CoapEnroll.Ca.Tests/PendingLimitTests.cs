using System.Diagnostics.Metrics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace CoapEnroll.Ca.Tests;

/// <summary>Measurements of the process-wide meter <c>CoapEnroll.Ca</c> are only this collection's while nothing else runs.</summary>
[CollectionDefinition(nameof(CaMetricsCollection), DisableParallelization = true)]
public sealed class CaMetricsCollection;

/// <summary>
/// Requests waiting for approval are bounded per identity and in total: past a bound a request is refused with
/// <see cref="RejectionReason.TooManyPendingRequests"/>, not stored, counted on <c>ca.requests.pending_refused</c> and logged,
/// while other requesters still get their requests held.
/// </summary>
[Collection(nameof(CaMetricsCollection))]
public sealed class PendingLimitTests
{
    [Fact]
    public async Task One_identity_past_its_bound_and_all_past_the_total_are_refused_without_a_trace_and_others_are_held()
    {
        await using TestCa ca = await TestCa.CreateAsync(o => o.Profiles = new()
        {
            ["manual"] = new CertificateProfileOptions { RequiresApproval = true },
        });
        var logger = new CapturingLogger();
        var authority = new CertificateAuthority(ca.Hierarchy, ca.Store, CertificateProfileCatalog.FromOptions(ca.Options),
            new ReservedNames(ca.Hierarchy, [ca.ServerCertificate]), logger)
        {
            MaxPendingRequests = 5,
            MaxPendingRequestsPerIdentity = 3,
        };
        var refusals = new List<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Ca" && instrument.Name == "ca.requests.pending_refused")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "bound")
                {
                    lock (refusals)
                    {
                        refusals.Add(tag.Value as string);
                    }
                }
            }
        });
        listener.Start();

        var csrs = new Dictionary<string, byte[]>();
        async Task<IssuanceResult> RequestAsync(string requester, string subject)
        {
            if (!csrs.TryGetValue(subject, out byte[]? csr))
            {
                csrs[subject] = csr = TestCa.Csr(subject);
            }

            return await authority.IssueAsync(TestCa.Request(csr, "manual", IssuanceRequest.ComputeRequestKey(csr, requester), requester), CancellationToken.None);
        }

        var held = new List<IssuanceResult>();
        for (int i = 0; i < 3; i++)
        {
            held.Add(await RequestAsync("flood", $"CN=flood-{i}"));
        }

        Assert.All(held, r => Assert.Equal(IssuanceStatus.Pending, r.Status));
        for (int i = 3; i < 8; i++)
        {
            IssuanceResult refused = await RequestAsync("flood", $"CN=flood-{i}");
            Assert.Equal(IssuanceStatus.Rejected, refused.Status);
            Assert.Equal(RejectionReason.TooManyPendingRequests, refused.Reason);
            Assert.Null(refused.RequestId);
        }

        Assert.Equal(3, (await ca.Store.ListRequestsAsync(null, 100, CancellationToken.None)).Count);
        Assert.Equal(Enumerable.Repeat("identity", 5), refusals);
        var line = Assert.Single(logger.Lines);
        Assert.Contains("Ca:MaxPendingRequestsPerIdentity", line, StringComparison.Ordinal);
        Assert.Contains("flood", line, StringComparison.Ordinal);

        // A request already held is answered as held (its repeat, same CSR and request key), bound or not.
        IssuanceResult repeat = await RequestAsync("flood", "CN=flood-0");
        Assert.Equal(IssuanceStatus.Pending, repeat.Status);
        Assert.Equal(held[0].RequestId, repeat.RequestId);

        // Other requesters are still held, up to the total.
        Assert.Equal(IssuanceStatus.Pending, (await RequestAsync("device-a", "CN=a")).Status);
        Assert.Equal(IssuanceStatus.Pending, (await RequestAsync("device-b", "CN=b")).Status);
        IssuanceResult full = await RequestAsync("device-c", "CN=c");
        Assert.Equal(RejectionReason.TooManyPendingRequests, full.Reason);
        Assert.Equal("global", refusals[^1]);

        // An operator's decision makes room.
        await authority.RejectAsync(held[0].RequestId!.Value, "operator", "flood", CancellationToken.None);
        Assert.Equal(IssuanceStatus.Pending, (await RequestAsync("device-c", "CN=c")).Status);
        Assert.Equal(5, (await authority.ListPendingAsync(100, CancellationToken.None)).Count);
    }

    [Theory]
    [InlineData("MaxPendingRequests")]
    [InlineData("MaxPendingRequestsPerIdentity")]
    public void A_bound_below_1_is_a_configuration_error_naming_it(string key)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Ca:" + key] = "0" }).Build();
        var error = Assert.Throws<CaConfigurationException>(() => CaOptions.Bind(configuration));
        Assert.Contains("Ca:" + key + " (0)", error.Message, StringComparison.Ordinal);
    }

    private sealed class CapturingLogger : ILogger<CertificateAuthority>
    {
        private readonly List<string> _lines = [];

        public IReadOnlyList<string> Lines
        {
            get
            {
                lock (_lines)
                {
                    return [.. _lines];
                }
            }
        }

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 109)
            {
                lock (_lines)
                {
                    _lines.Add(formatter(state, exception));
                }
            }
        }
    }
}
