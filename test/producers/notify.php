<?php
// A PHP producer as a site would write one: signs the producer JSON and POSTs it to the
// nestjs-inbox HTTP door (php-cli with the curl extension, nothing else).
//
//   php notify.php <url> <secret> [--t-offset=<seconds>] [--content-type=<type>] [--no-signature] < body.json
//
// The body is read from stdin as is (the tests also send broken ones); prints
// {"status": <HTTP status>, "body": <decoded answer>} on stdout.

/** POSTs $body signed with $secret; returns [status, decoded answer]. */
function inbox_post(string $url, string $secret, string $body, array $options = []): array
{
    $t = time() + ($options['t_offset'] ?? 0);
    $signature = 't=' . $t . ',v1=' . hash_hmac('sha256', $t . '.' . $body, $secret);
    $headers = ['Content-Type: ' . ($options['content_type'] ?? 'application/json')];
    if (empty($options['no_signature'])) {
        $headers[] = 'X-Inbox-Signature: ' . $signature;
    }
    $curl = curl_init($url);
    curl_setopt_array($curl, [
        CURLOPT_POST => true,
        CURLOPT_POSTFIELDS => $body,
        CURLOPT_HTTPHEADER => $headers,
        CURLOPT_RETURNTRANSFER => true,
        CURLOPT_TIMEOUT => 10,
    ]);
    $answer = curl_exec($curl);
    if ($answer === false) {
        fwrite(STDERR, 'curl: ' . curl_error($curl) . "\n");
        exit(2);
    }
    $status = curl_getinfo($curl, CURLINFO_RESPONSE_CODE);
    curl_close($curl);
    return [$status, json_decode($answer, true)];
}

$options = [];
foreach (array_slice($argv, 3) as $arg) {
    if (preg_match('/^--t-offset=(-?\d+)$/', $arg, $m)) $options['t_offset'] = (int) $m[1];
    elseif (preg_match('/^--content-type=(.*)$/', $arg, $m)) $options['content_type'] = $m[1];
    elseif ($arg === '--no-signature') $options['no_signature'] = true;
    else { fwrite(STDERR, "unknown argument $arg\n"); exit(2); }
}
[$status, $answer] = inbox_post($argv[1], $argv[2], stream_get_contents(STDIN), $options);
echo json_encode(['status' => $status, 'body' => $answer]), "\n";
