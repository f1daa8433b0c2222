using System.Collections.Concurrent;
using System.Diagnostics.Metrics;

namespace CoapEnroll.Ca.Tests;

/// <summary>ca.store.duration: every store call the CA makes is timed, tagged with its operation, and a failed one with its error.</summary>
public sealed class StoreMetricsTests
{
    // Tests run in parallel and the meter is static: only measurements made in this test's own asynchronous flow are kept.
    private static readonly AsyncLocal<bool> s_ours = new();

    [Fact]
    public async Task The_CA_times_every_store_call_with_its_operation_and_a_failed_one_with_its_error_type()
    {
        var seen = new ConcurrentQueue<(string? Operation, string? Error)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "CoapEnroll.Ca" && instrument.Name == "ca.store.duration")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<double>((_, seconds, tags, _) =>
        {
            if (!s_ours.Value)
            {
                return;
            }

            Assert.True(seconds >= 0);
            string? operation = null, error = null;
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                operation = tag.Key == "operation" ? tag.Value as string : operation;
                error = tag.Key == "error.type" ? tag.Value as string : error;
            }

            seen.Enqueue((operation, error));
        });
        listener.Start();

        await using TestCa ca = await TestCa.CreateAsync();
        Assert.IsType<InstrumentedCertificateStore>(ca.Authority.Store);
        s_ours.Value = true;
        Assert.Equal(0, await ca.Authority.CountPendingRequestsAsync(CancellationToken.None));
        IssuanceResult issued = await ca.Authority.IssueAsync(TestCa.Request(TestCa.Csr("CN=timed"), requestKey: "timed-1"), CancellationToken.None);
        Assert.Equal(IssuanceStatus.Issued, issued.Status);

        await ca.Store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => ca.Authority.CountPendingRequestsAsync(CancellationToken.None));
        s_ours.Value = false;

        Assert.Contains(("CountPendingRequests", null), seen);
        Assert.Contains(("GetRequestByKey", null), seen);
        Assert.Contains(("AddIssued", null), seen);
        Assert.Contains(("CountPendingRequests", "ObjectDisposedException"), seen);
        Assert.DoesNotContain(seen, m => m.Operation is null);
    }
}
