package objectstorage

// Describe implements integration.Describer: the bucket, where it lives,
// and the object the request names.
func (it *Integration) Describe() string {
	where := "an S3-compatible server"
	if it.dir != "" {
		where = "directory " + it.dir
	}
	return "bucket " + it.bucket + " (" + where + "), object " + it.object.String()
}
