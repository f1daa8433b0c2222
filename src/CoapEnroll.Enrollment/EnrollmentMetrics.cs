using System.Diagnostics.Metrics;

namespace CoapEnroll.Enrollment;

/// <summary>Instruments of the enrollment service, published on the meter <c>CoapEnroll.Enrollment</c>.</summary>
internal static class EnrollmentMetrics
{
    public const string MeterName = "CoapEnroll.Enrollment";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary>
    /// Every answer <see cref="EnrollmentService"/> gave an authenticated requester, tagged <c>protocol</c> (the front end:
    /// est-coaps, est-https, cmp-coap, cmp-coaps, cmp-http, cmp-https), <c>operation</c> (enroll, reenroll, serverkeygen) and
    /// <c>outcome</c> (issued, pending, refused). A repeat answered from the store counts again, with its stored outcome.
    /// </summary>
    public static readonly Counter<long> Requests = s_meter.CreateCounter<long>("enrollment.requests", "{request}",
        "Enrollment requests of authenticated requesters by protocol, operation and outcome (issued, pending, refused)");

    public static void Count(Requester requester, EnrollmentOperation operation, EnrollmentStatus outcome) =>
        Requests.Add(1, new KeyValuePair<string, object?>("protocol", requester.Peer.FrontEnd),
            new KeyValuePair<string, object?>("operation", operation switch
            {
                EnrollmentOperation.Enroll => "enroll",
                EnrollmentOperation.Reenroll => "reenroll",
                _ => "serverkeygen",
            }),
            new KeyValuePair<string, object?>("outcome", outcome switch
            {
                EnrollmentStatus.Issued => "issued",
                EnrollmentStatus.Pending => "pending",
                _ => "refused",
            }));
}
