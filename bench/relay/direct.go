package main

import (
	"context"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// gatewayDirect is a scenario of conc downloads of the drops' objects
// straight from versitygw, by presigned URLs, in the same ranges: the
// ceiling of a replica that streams every byte through the bucket.
func (st *relayStorage) gatewayDirect(name string, conc int, gw *gateway) scenario {
	return scenario{name: name, conc: conc,
		start: func(ctx context.Context, round string) (*servers, error) {
			return &servers{rss: []*proc{gw.proc}}, nil
		},
		prepare: func(ctx context.Context, s *servers) (job, func(), error) {
			urls, err := presignBlobs(ctx, gw, "drops", st.ids)
			if err != nil {
				return nil, nil, err
			}
			d := &staticDownloads{paths: urls, size: st.b.size, sum: st.b.sum}
			return d.job, nil, nil
		}}
}

// presignBlobs returns a presigned GET URL of each drop's object.
func presignBlobs(ctx context.Context, gw *gateway, bucket string, ids []string) ([]string, error) {
	c := s3.New(s3.Options{
		Region: "us-east-1", UsePathStyle: true, BaseEndpoint: aws.String(gw.endpoint),
		Credentials: aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) {
			return aws.Credentials{AccessKeyID: gwKey, SecretAccessKey: gwSecret}, nil
		}),
	})
	pc := s3.NewPresignClient(c, s3.WithPresignExpires(time.Hour))
	var urls []string
	for _, id := range ids {
		r, err := pc.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("blobs/" + id)})
		if err != nil {
			return nil, fmt.Errorf("presign %s: %w", id, err)
		}
		urls = append(urls, r.URL)
	}
	return urls, nil
}
